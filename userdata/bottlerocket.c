/*
 * userdata/bottlerocket.c — Bottlerocket user data: the user's TOML settings with the
 * controller's join settings written over them, and the reverse reading for userdata_inspect.
 *
 * Invariants:
 *  - Every user setting outside the keys listed below is kept as parsed (settings.kernel,
 *    settings.host-containers, ...). Under settings.kubernetes the controller overwrites
 *    cluster-name, api-server, cluster-certificate, cluster-dns-ip, max-pods and, when it has
 *    a value for them, system-reserved, kube-reserved, eviction-hard, eviction-soft,
 *    eviction-soft-grace-period, eviction-max-pod-grace-period, image-gc-high/low-threshold-
 *    percent and cpu-cfs-quota-enforced; node-labels are merged (the controller's value wins
 *    per key); node-taints is replaced by the controller's taints.
 *  - node-taints is written as Bottlerocket reads it: key -> array of "value:Effect" strings
 *    (":Effect" when the taint has no value), keys in the order their first taint appears.
 *  - cluster-dns-ip is a string for one address and an array for several.
 *  - User TOML that does not parse is CORE_E_INVAL naming spec.userData; the output is the
 *    emitter's canonical TOML, so the same input gives the same bytes.
 */
#include "userdata/internal.h"

#include <string.h>

#define K8S_PATH "settings.kubernetes"

/* A TOML path for one quoted key under a table path: base."key". */
static int quoted_path(struct core_buf *b, const char *key)
{
    int rc = core_buf_append_char(b, '"');
    for (; rc == 0 && *key; key++) {
        if (*key == '"' || *key == '\\')
            rc = core_buf_append_char(b, '\\');
        if (rc == 0)
            rc = core_buf_append_char(b, *key);
    }
    return rc ? rc : core_buf_append_char(b, '"');
}

/* Replaces k8s[key] with a table of the label set's string values. */
static int put_string_table(struct userdata_toml_value *k8s, const char *key,
                            const struct k8s_kv *kv, size_t n, struct core_err *err)
{
    struct userdata_toml_value *t;
    struct core_buf path;
    size_t i;
    int rc;

    if ((rc = userdata_toml_set_table(k8s, key, &t, err)) != 0)
        return rc;
    core_buf_init(&path, 4096);
    for (i = 0; i < n && rc == 0; i++) {
        core_buf_reset(&path);
        if (quoted_path(&path, kv[i].key))
            rc = core_err_set(err, CORE_E_TOOBIG, "settings.kubernetes.%s: key too long", key);
        else
            rc = userdata_toml_set_string(t, core_buf_cstr(&path), kv[i].value, err);
    }
    core_buf_cleanup(&path);
    return rc;
}

static int put_labels(struct userdata_toml_value *k8s, const struct userdata_settings *s,
                      struct core_err *err)
{
    struct userdata_toml_value *labels;
    struct core_buf path;
    size_t i;
    int rc;

    if ((rc = userdata_toml_ensure_table(k8s, "node-labels", &labels, err)) != 0) {
        if (rc == CORE_E_INVAL)
            core_err_set(err, rc, "spec.userData: settings.kubernetes.node-labels is not a table");
        return rc;
    }
    core_buf_init(&path, 4096);
    for (i = 0; i < s->nlabels && rc == 0; i++) {
        core_buf_reset(&path);
        if (quoted_path(&path, s->labels[i].key))
            rc = core_err_set(err, CORE_E_TOOBIG, "node label key too long");
        else
            rc = userdata_toml_set_string(labels, core_buf_cstr(&path), s->labels[i].value, err);
    }
    core_buf_cleanup(&path);
    return rc;
}

static int put_taints(struct userdata_toml_value *k8s, const struct userdata_settings *s,
                      struct core_err *err)
{
    struct userdata_toml_value *taints;
    struct core_buf path;
    const char **vals = NULL;
    char **owned = NULL;
    size_t i, j, nv = 0;
    int rc;

    if ((rc = userdata_toml_set_table(k8s, "node-taints", &taints, err)) != 0)
        return rc;
    if (s->ntaints == 0)
        return 0;
    core_buf_init(&path, 4096);
    vals = core_calloc(s->ntaints, sizeof *vals);
    owned = core_calloc(s->ntaints, sizeof *owned);
    if (!vals || !owned) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < s->ntaints && rc == 0; i++) {
        int seen = 0;
        for (j = 0; j < i && !seen; j++)
            seen = strcmp(s->taints[j].key, s->taints[i].key) == 0;
        if (seen)
            continue;
        /* Every taint with this key, in order. */
        nv = 0;
        for (j = i; j < s->ntaints && rc == 0; j++) {
            struct core_buf v;
            if (strcmp(s->taints[j].key, s->taints[i].key) != 0)
                continue;
            core_buf_init(&v, 4096);
            if (core_buf_appendf(&v, "%s:%s", s->taints[j].value ? s->taints[j].value : "",
                                 k8s_effect_name(s->taints[j].effect)) ||
                core_buf_steal(&v, &owned[nv], NULL)) {
                core_buf_cleanup(&v);
                rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
                break;
            }
            vals[nv] = owned[nv];
            nv++;
        }
        core_buf_reset(&path);
        if (rc == 0 && quoted_path(&path, s->taints[i].key))
            rc = core_err_set(err, CORE_E_TOOBIG, "taint key too long");
        if (rc == 0)
            rc = userdata_toml_set_strings(taints, core_buf_cstr(&path), vals, nv, err);
        for (j = 0; j < nv; j++) {
            core_free(owned[j]);
            owned[j] = NULL;
        }
        nv = 0;
    }
out:
    if (owned)
        for (j = 0; j < nv; j++)
            core_free(owned[j]);
    core_free(owned);
    core_free(vals);
    core_buf_cleanup(&path);
    return rc;
}

static int labels_to_kv(const struct k8s_labels *l, const struct k8s_kv **kv, size_t *n)
{
    *kv = l ? l->v : NULL;
    *n = l ? l->n : 0;
    return *n > 0;
}

int userdata_render_bottlerocket(const struct userdata_input *in,
                                 const struct userdata_settings *s, struct core_buf *raw,
                                 struct core_err *err)
{
    struct userdata_toml *doc = NULL;
    struct userdata_toml_value *root, *k8s;
    const char *ud = in->node.user_data;
    const struct k8s_kv *kv;
    size_t n;
    int rc;

    if (in->phase == USERDATA_WARM)
        return core_err_set(err, CORE_E_UNSUPPORTED,
                            "Bottlerocket warm-up needs a bootstrap container; not supported yet");
    if (s->instance_store_raid0)
        return core_err_set(err, CORE_E_UNSUPPORTED,
                            "spec.instanceStorePolicy: RAID0 is not supported on Bottlerocket");
    rc = userdata_toml_parse(ud, ud ? strlen(ud) : 0, &doc, err);
    if (rc == CORE_E_PARSE && err)
        err->code = CORE_E_INVAL; /* the user's input, not a document we read back */
    if (rc)
        return rc == CORE_E_PARSE ? CORE_E_INVAL : rc;
    root = userdata_toml_root(doc);
    if ((rc = userdata_toml_ensure_table(root, K8S_PATH, &k8s, err)) != 0) {
        if (rc == CORE_E_INVAL)
            core_err_set(err, rc, "spec.userData: settings.kubernetes is not a table");
        goto out;
    }
    if ((rc = userdata_toml_set_string(k8s, "cluster-name", s->cluster_name, err)) != 0 ||
        (rc = userdata_toml_set_string(k8s, "api-server", s->endpoint, err)) != 0 ||
        (rc = userdata_toml_set_string(k8s, "cluster-certificate", s->ca_bundle, err)) != 0)
        goto out;
    if (s->ncluster_dns == 1)
        rc = userdata_toml_set_string(k8s, "cluster-dns-ip", s->cluster_dns[0], err);
    else if (s->ncluster_dns > 1)
        rc = userdata_toml_set_strings(k8s, "cluster-dns-ip", (const char *const *)s->cluster_dns,
                                       s->ncluster_dns, err);
    if (rc || (rc = userdata_toml_set_int(k8s, "max-pods", s->max_pods, err)) != 0)
        goto out;
    if (labels_to_kv(&s->system_reserved, &kv, &n) &&
        (rc = put_string_table(k8s, "system-reserved", kv, n, err)) != 0)
        goto out;
    if (labels_to_kv(&s->kube_reserved, &kv, &n) &&
        (rc = put_string_table(k8s, "kube-reserved", kv, n, err)) != 0)
        goto out;
    if (labels_to_kv(s->eviction_hard, &kv, &n) &&
        (rc = put_string_table(k8s, "eviction-hard", kv, n, err)) != 0)
        goto out;
    if (labels_to_kv(s->eviction_soft, &kv, &n) &&
        (rc = put_string_table(k8s, "eviction-soft", kv, n, err)) != 0)
        goto out;
    if (labels_to_kv(s->eviction_soft_grace_period, &kv, &n) &&
        (rc = put_string_table(k8s, "eviction-soft-grace-period", kv, n, err)) != 0)
        goto out;
    if (s->has_eviction_max_pod_grace_period &&
        (rc = userdata_toml_set_int(k8s, "eviction-max-pod-grace-period",
                                    s->eviction_max_pod_grace_period, err)) != 0)
        goto out;
    if (s->has_image_gc_high &&
        (rc = userdata_toml_set_int(k8s, "image-gc-high-threshold-percent", s->image_gc_high,
                                    err)) != 0)
        goto out;
    if (s->has_image_gc_low &&
        (rc = userdata_toml_set_int(k8s, "image-gc-low-threshold-percent", s->image_gc_low,
                                    err)) != 0)
        goto out;
    if (s->has_cpu_cfs_quota &&
        (rc = userdata_toml_set_bool(k8s, "cpu-cfs-quota-enforced", s->cpu_cfs_quota, err)) != 0)
        goto out;
    if ((rc = put_labels(k8s, s, err)) != 0 || (rc = put_taints(k8s, s, err)) != 0)
        goto out;
    rc = userdata_toml_emit(doc, raw, err);
out:
    userdata_toml_free(doc);
    return rc;
}

/* ---- inspect ------------------------------------------------------------------------------ */

static int dup_str(const struct userdata_toml_value *v, char **out)
{
    size_t len;
    const char *s;
    if (!v || userdata_toml_type(v) != USERDATA_TOML_STRING)
        return 0;
    s = userdata_toml_str(v, &len);
    if (!(*out = core_strndup(s, len)))
        return CORE_E_NOMEM;
    return 0;
}

static int effect_parse(const char *s, size_t n, enum k8s_effect *e)
{
    static const struct {
        const char *name;
        enum k8s_effect e;
    } tab[] = {{"NoSchedule", K8S_EFFECT_NO_SCHEDULE},
               {"PreferNoSchedule", K8S_EFFECT_PREFER_NO_SCHEDULE},
               {"NoExecute", K8S_EFFECT_NO_EXECUTE}};
    size_t i;
    for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strlen(tab[i].name) == n && memcmp(tab[i].name, s, n) == 0) {
            *e = tab[i].e;
            return 0;
        }
    return CORE_E_PARSE;
}

/* One "value:Effect" string for taint key. */
static int add_taint(struct userdata_facts *f, size_t *cap, const char *key,
                     const struct userdata_toml_value *v, struct core_err *err)
{
    size_t len;
    const char *s, *colon;
    struct k8s_taint *t;
    enum k8s_effect e;

    if (userdata_toml_type(v) != USERDATA_TOML_STRING)
        return core_err_set(err, CORE_E_PARSE,
                            "settings.kubernetes.node-taints.%s: not a string", key);
    s = userdata_toml_str(v, &len);
    colon = memchr(s, ':', len);
    if (!colon || effect_parse(colon + 1, len - (size_t)(colon + 1 - s), &e) != 0)
        return core_err_set(err, CORE_E_PARSE,
                            "settings.kubernetes.node-taints.%s: expected \"value:Effect\"", key);
    if (f->ntaints == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        struct k8s_taint *nt = core_realloc(f->taints, nc * sizeof *nt);
        if (!nt)
            return core_err_set(err, CORE_E_NOMEM, "out of memory");
        f->taints = nt;
        *cap = nc;
    }
    t = &f->taints[f->ntaints];
    memset(t, 0, sizeof *t);
    t->effect = e;
    if (!(t->key = core_strdup(key)))
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    if (colon > s && !(t->value = core_strndup(s, (size_t)(colon - s)))) {
        core_free(t->key);
        return core_err_set(err, CORE_E_NOMEM, "out of memory");
    }
    f->ntaints++;
    return 0;
}

int userdata_bottlerocket_inspect(const char *raw, size_t len, struct userdata_facts *out,
                                  struct core_err *err)
{
    struct userdata_toml *doc = NULL;
    struct userdata_toml_value *k8s, *v, *item;
    struct userdata_facts f;
    size_t i, j, cap = 0;
    int rc;

    memset(&f, 0, sizeof f);
    if ((rc = userdata_toml_parse(raw, len, &doc, err)) != 0)
        return rc;
    f.family = K8S_AMI_BOTTLEROCKET;
    k8s = userdata_toml_get(userdata_toml_root(doc), K8S_PATH);
    if (!k8s || userdata_toml_type(k8s) != USERDATA_TOML_TABLE)
        goto done;
    if (dup_str(userdata_toml_get(k8s, "cluster-name"), &f.cluster_name) ||
        dup_str(userdata_toml_get(k8s, "api-server"), &f.endpoint) ||
        dup_str(userdata_toml_get(k8s, "cluster-certificate"), &f.ca_bundle)) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto fail;
    }
    v = userdata_toml_get(k8s, "cluster-dns-ip");
    if (v && userdata_toml_type(v) == USERDATA_TOML_ARRAY)
        v = userdata_toml_at(v, 0);
    if (dup_str(v, &f.cluster_dns)) {
        rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
        goto fail;
    }
    v = userdata_toml_get(k8s, "max-pods");
    if (v && userdata_toml_type(v) == USERDATA_TOML_INTEGER) {
        int64_t mp = userdata_toml_int(v);
        if (mp < 0 || mp > INT32_MAX) {
            rc = core_err_set(err, CORE_E_PARSE, "settings.kubernetes.max-pods: out of range");
            goto fail;
        }
        f.max_pods = (int32_t)mp;
    }
    v = userdata_toml_get(k8s, "node-labels");
    for (i = 0; v && userdata_toml_type(v) == USERDATA_TOML_TABLE && i < userdata_toml_len(v);
         i++) {
        const char *key = userdata_toml_key_at(v, i, NULL, &item);
        const char *s = userdata_toml_str(item, NULL);
        if (userdata_toml_type(item) != USERDATA_TOML_STRING) {
            rc = core_err_set(err, CORE_E_PARSE, "settings.kubernetes.node-labels.%s: not a string",
                              key);
            goto fail;
        }
        if (k8s_labels_set(&f.labels, key, s)) {
            rc = core_err_set(err, CORE_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    v = userdata_toml_get(k8s, "node-taints");
    for (i = 0; v && userdata_toml_type(v) == USERDATA_TOML_TABLE && i < userdata_toml_len(v);
         i++) {
        const char *key = userdata_toml_key_at(v, i, NULL, &item);
        if (userdata_toml_type(item) == USERDATA_TOML_ARRAY) {
            for (j = 0; j < userdata_toml_len(item); j++)
                if ((rc = add_taint(&f, &cap, key, userdata_toml_at(item, j), err)) != 0)
                    goto fail;
        } else if ((rc = add_taint(&f, &cap, key, item, err)) != 0) {
            goto fail;
        }
    }
    f.joins = f.cluster_name != NULL && f.endpoint != NULL;
done:
    userdata_toml_free(doc);
    *out = f;
    return 0;
fail:
    userdata_toml_free(doc);
    userdata_facts_cleanup(&f);
    return rc;
}
