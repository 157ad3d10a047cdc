/*
 * userdata/inspect.c — reads a user data document the way a booting node would: which family
 * it is for, whether it joins, the cluster facts, labels, taints, max pods, and the warm-up
 * images. The simulated kubelet and the tests use it to check what the renderers wrote.
 *
 * Invariants:
 *  - Bounded: gzip input is inflated through userdata_decode (USERDATA_RAW_MAX), command lines
 *    are split into at most MAX_ARGS words, YAML is parsed by libyaml.
 *  - Later join configurations win (nodeadm merges NodeConfig parts in order), except labels
 *    which merge per key.
 *  - A document with no join configuration is joins = 0, not an error; only malformed
 *    structure (bad MIME, bad YAML in a NodeConfig part, a malformed taint, label or max pods
 *    in a join configuration) is CORE_E_PARSE. A command line that cannot be split (an
 *    unterminated quote) is not read as a bootstrap call. out is written only on success.
 */
#include "userdata/internal.h"

#include <string.h>
#include <yaml.h>

#define MAX_ARGS 256
#define MAX_WORD 65536

void userdata_facts_cleanup(struct userdata_facts *f)
{
    if (!f)
        return;
    core_free(f->cluster_name);
    core_free(f->endpoint);
    core_free(f->ca_bundle);
    core_free(f->cluster_dns);
    k8s_labels_cleanup(&f->labels);
    for (size_t i = 0; i < f->ntaints; i++) {
        core_free(f->taints[i].key);
        core_free(f->taints[i].value);
    }
    core_free(f->taints);
    k8s_strings_cleanup(&f->images);
    memset(f, 0, sizeof *f);
}

/* ---- small setters ------------------------------------------------------------------------- */

static int set_str(char **dst, const char *s, size_t n)
{
    char *c = core_malloc(n + 1);
    if (!c)
        return CORE_E_NOMEM;
    memcpy(c, s, n);
    c[n] = '\0';
    core_free(*dst);
    *dst = c;
    return 0;
}

static void clear_taints(struct userdata_facts *f)
{
    for (size_t i = 0; i < f->ntaints; i++) {
        core_free(f->taints[i].key);
        core_free(f->taints[i].value);
    }
    core_free(f->taints);
    f->taints = NULL;
    f->ntaints = 0;
}

static int parse_effect(const char *s, size_t n, enum k8s_effect *e)
{
    if (n == 10 && memcmp(s, "NoSchedule", 10) == 0)
        *e = K8S_EFFECT_NO_SCHEDULE;
    else if (n == 16 && memcmp(s, "PreferNoSchedule", 16) == 0)
        *e = K8S_EFFECT_PREFER_NO_SCHEDULE;
    else if (n == 9 && memcmp(s, "NoExecute", 9) == 0)
        *e = K8S_EFFECT_NO_EXECUTE;
    else
        return CORE_E_PARSE;
    return 0;
}

static int add_taint(struct userdata_facts *f, const char *k, size_t kl, const char *v,
                     size_t vl, int has_v, enum k8s_effect e)
{
    struct k8s_taint *nt = core_realloc(f->taints, (f->ntaints + 1) * sizeof *nt);
    if (!nt)
        return CORE_E_NOMEM;
    f->taints = nt;
    memset(&nt[f->ntaints], 0, sizeof *nt);
    if (set_str(&nt[f->ntaints].key, k, kl) != 0)
        return CORE_E_NOMEM;
    if (has_v && set_str(&nt[f->ntaints].value, v, vl) != 0) {
        core_free(nt[f->ntaints].key);
        return CORE_E_NOMEM;
    }
    nt[f->ntaints].effect = e;
    f->ntaints++;
    return 0;
}

/* "k=v:Effect,k2:Effect" (replaces the taints seen so far). */
static int parse_taint_list(struct userdata_facts *f, const char *s, struct core_err *err)
{
    clear_taints(f);
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *colon = memchr(s, ':', n), *eq;
        enum k8s_effect e;
        int rc;
        if (n > 0) {
            if (!colon || parse_effect(colon + 1, (size_t)(s + n - colon - 1), &e) != 0)
                return core_err_set(err, CORE_E_PARSE, "userdata: malformed taint");
            eq = memchr(s, '=', (size_t)(colon - s));
            if (eq)
                rc = add_taint(f, s, (size_t)(eq - s), eq + 1, (size_t)(colon - eq - 1), 1, e);
            else
                rc = add_taint(f, s, (size_t)(colon - s), NULL, 0, 0, e);
            if (rc)
                return core_err_set(err, rc, "userdata: out of memory");
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}

/* "k=v,k2=v2" merged into the labels. */
static int parse_label_list(struct userdata_facts *f, const char *s, struct core_err *err)
{
    char key[512], val[512];
    while (*s) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', n);
        if (n > 0) {
            if (!eq || (size_t)(eq - s) >= sizeof key || (size_t)(s + n - eq - 1) >= sizeof val)
                return core_err_set(err, CORE_E_PARSE, "userdata: malformed node label");
            memcpy(key, s, (size_t)(eq - s));
            key[eq - s] = '\0';
            memcpy(val, eq + 1, (size_t)(s + n - eq - 1));
            val[s + n - eq - 1] = '\0';
            if (k8s_labels_set(&f->labels, key, val) != 0)
                return core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
        }
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}

static int set_max_pods(struct userdata_facts *f, const char *s, struct core_err *err)
{
    int64_t v;
    if (core_parse_i64(s, 1, INT32_MAX, &v) != 0)
        return core_err_set(err, CORE_E_PARSE, "userdata: malformed max pods");
    f->max_pods = (int32_t)v;
    return 0;
}

/* ---- word splitting (sh and PowerShell quoting) -------------------------------------------- */

struct words {
    char *v[MAX_ARGS];
    size_t n;
};

static void words_free(struct words *w)
{
    for (size_t i = 0; i < w->n; i++)
        core_free(w->v[i]);
    w->n = 0;
}

/* Splits one logical line (up to an unquoted newline) into words. */
static int split_words(const char *s, size_t len, int powershell, struct words *w,
                       struct core_err *err)
{
    struct core_buf b;
    size_t i = 0;
    int rc = 0, in_word = 0;

    core_buf_init(&b, MAX_WORD);
    w->n = 0;
    while (i <= len) {
        char c = i < len ? s[i] : '\n';
        if (c == ';' && !powershell)
            c = '\n'; /* the end of the command: what follows is another one */
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (in_word) {
                if (w->n == MAX_ARGS) {
                    rc = core_err_set(err, CORE_E_PARSE, "userdata: command line too long");
                    break;
                }
                rc = core_buf_steal(&b, &w->v[w->n], NULL);
                if (rc) {
                    rc = core_err_set(err, rc, "userdata: out of memory");
                    break;
                }
                w->n++;
                in_word = 0;
            }
            if (c == '\n')
                break;
            i++;
            continue;
        }
        in_word = 1;
        if (c == '\'') {
            i++;
            for (;;) {
                if (i >= len) {
                    rc = core_err_set(err, CORE_E_PARSE, "userdata: unterminated quote");
                    goto out;
                }
                if (s[i] == '\'') {
                    if (powershell && i + 1 < len && s[i + 1] == '\'') {
                        rc = core_buf_append_char(&b, '\'');
                        i += 2;
                        if (rc)
                            goto nomem;
                        continue;
                    }
                    i++;
                    break;
                }
                rc = core_buf_append_char(&b, s[i++]);
                if (rc)
                    goto nomem;
            }
        } else if (c == '"') {
            i++;
            for (;;) {
                if (i >= len) {
                    rc = core_err_set(err, CORE_E_PARSE, "userdata: unterminated quote");
                    goto out;
                }
                if (s[i] == '"') {
                    i++;
                    break;
                }
                char esc = powershell ? '`' : '\\';
                if (s[i] == esc && i + 1 < len) {
                    i++;
                }
                rc = core_buf_append_char(&b, s[i++]);
                if (rc)
                    goto nomem;
            }
        } else {
            if (!powershell && c == '\\' && i + 1 < len)
                i++;
            rc = core_buf_append_char(&b, s[i++]);
            if (rc)
                goto nomem;
        }
    }
    goto out;
nomem:
    rc = core_err_set(err, rc, "userdata: command line: %s", core_strerror(rc));
out:
    core_buf_cleanup(&b);
    if (rc)
        words_free(w);
    return rc;
}

/* The kubelet flags both AL2 and Windows pass in one string. */
static int parse_kubelet_args(struct userdata_facts *f, const char *args, struct core_err *err)
{
    struct words w;
    int rc = split_words(args, strlen(args), 0, &w, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < w.n && !rc; i++) {
        const char *a = w.v[i];
        if (strncmp(a, "--node-labels=", 14) == 0)
            rc = parse_label_list(f, a + 14, err);
        else if (strncmp(a, "--register-with-taints=", 23) == 0)
            rc = parse_taint_list(f, a + 23, err);
        else if (strncmp(a, "--max-pods=", 11) == 0)
            rc = set_max_pods(f, a + 11, err);
    }
    words_free(&w);
    return rc;
}

/* ---- warm-up scripts ----------------------------------------------------------------------- */

static int has_line(const char *t, size_t len, const char *line)
{
    size_t n = strlen(line);
    for (size_t p = 0; p + n <= len;) {
        if ((p == 0 || t[p - 1] == '\n') && memcmp(t + p, line, n) == 0 &&
            (p + n == len || t[p + n] == '\n' || t[p + n] == '\r'))
            return 1;
        const char *nl = memchr(t + p, '\n', len - p);
        if (!nl)
            break;
        p = (size_t)(nl - t) + 1;
    }
    return 0;
}

static int scan_warm(struct userdata_facts *f, const char *t, size_t len, int powershell,
                     struct core_err *err)
{
    static const char pull[] = "images pull --all-platforms=false ";
    if (!has_line(t, len, USERDATA_WARM_MARKER))
        return 0;
    f->warm_up = 1;
    f->warm_up_stays_running = has_line(t, len, USERDATA_WARM_STAY_MARKER);
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(t + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - t) : len;
        const char *hit = NULL;
        for (size_t q = p; q + sizeof pull - 1 <= e; q++)
            if (memcmp(t + q, pull, sizeof pull - 1) == 0) {
                hit = t + q + sizeof pull - 1;
                break;
            }
        if (hit) {
            struct words w;
            int rc = split_words(hit, (size_t)(t + e - hit), powershell, &w, NULL);
            if (rc == CORE_E_NOMEM)
                return core_err_set(err, rc, "userdata: out of memory");
            if (rc)
                w.n = 0;
            if (w.n > 0) {
                char **nv = core_realloc(f->images.v, (f->images.n + 1) * sizeof *nv);
                if (!nv) {
                    words_free(&w);
                    return core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
                }
                f->images.v = nv;
                nv[f->images.n++] = w.v[0];
                w.v[0] = NULL;
            }
            words_free(&w);
        }
        p = e + 1;
    }
    return 0;
}

/* ---- AL2 bootstrap.sh ---------------------------------------------------------------------- */

static int scan_bootstrap(struct userdata_facts *f, const char *t, size_t len,
                          struct core_err *err)
{
    static const char cmd[] = "/etc/eks/bootstrap.sh";
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(t + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - t) : len;
        size_t q = p;
        while (q < e && (t[q] == ' ' || t[q] == '\t'))
            q++;
        if (e - q >= sizeof cmd - 1 && memcmp(t + q, cmd, sizeof cmd - 1) == 0) {
            struct words w;
            /* A line the shell could not split is not a bootstrap call we can read. */
            int rc = split_words(t + q, e - q, 0, &w, NULL);
            if (rc == CORE_E_NOMEM)
                return core_err_set(err, rc, "userdata: out of memory");
            if (rc) {
                p = e + 1;
                continue;
            }
            f->family = K8S_AMI_AL2;
            f->joins = 1;
            for (size_t i = 1; i < w.n && !rc; i++) {
                const char *a = w.v[i];
                const char *v = i + 1 < w.n ? w.v[i + 1] : NULL;
                if (a[0] != '-') {
                    rc = set_str(&f->cluster_name, a, strlen(a));
                    continue;
                }
                if (!v)
                    break;
                if (strcmp(a, "--apiserver-endpoint") == 0)
                    rc = set_str(&f->endpoint, v, strlen(v));
                else if (strcmp(a, "--b64-cluster-ca") == 0)
                    rc = set_str(&f->ca_bundle, v, strlen(v));
                else if (strcmp(a, "--dns-cluster-ip") == 0)
                    rc = set_str(&f->cluster_dns, v, strlen(v));
                else if (strcmp(a, "--kubelet-extra-args") == 0)
                    rc = parse_kubelet_args(f, v, err);
                i++; /* every other flag of bootstrap.sh takes a value */
            }
            words_free(&w);
            if (rc == CORE_E_NOMEM)
                return core_err_set(err, rc, "userdata: out of memory");
            if (rc)
                return rc;
        }
        p = e + 1;
    }
    return 0;
}

/* ---- Windows ------------------------------------------------------------------------------- */

static int scan_windows(struct userdata_facts *f, const char *t, size_t len,
                        struct core_err *err)
{
    static const char cmd[] = "& $EKSBootstrapScriptFile";
    int rc = scan_warm(f, t, len, 1, err);
    if (rc)
        return rc;
    f->family = K8S_AMI_WINDOWS2022; /* the year is not in the document; any Windows */
    for (size_t p = 0; p < len;) {
        const char *nl = memchr(t + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - t) : len;
        if (e - p >= sizeof cmd - 1 && memcmp(t + p, cmd, sizeof cmd - 1) == 0) {
            struct words w;
            rc = split_words(t + p, e - p, 1, &w, NULL);
            if (rc == CORE_E_NOMEM)
                return core_err_set(err, rc, "userdata: out of memory");
            if (rc) {
                p = e + 1;
                rc = 0;
                continue;
            }
            f->joins = 1;
            for (size_t i = 2; i + 1 < w.n && !rc; i++) {
                const char *a = w.v[i], *v = w.v[i + 1];
                if (strcmp(a, "-EKSClusterName") == 0)
                    rc = set_str(&f->cluster_name, v, strlen(v));
                else if (strcmp(a, "-APIServerEndpoint") == 0)
                    rc = set_str(&f->endpoint, v, strlen(v));
                else if (strcmp(a, "-Base64ClusterCA") == 0)
                    rc = set_str(&f->ca_bundle, v, strlen(v));
                else if (strcmp(a, "-DNSClusterIP") == 0)
                    rc = set_str(&f->cluster_dns, v, strlen(v));
                else if (strcmp(a, "-KubeletExtraArgs") == 0)
                    rc = parse_kubelet_args(f, v, err);
                else
                    continue;
                i++;
            }
            words_free(&w);
            if (rc == CORE_E_NOMEM)
                return core_err_set(err, rc, "userdata: out of memory");
            if (rc)
                return rc;
        }
        p = e + 1;
    }
    return 0;
}

/* ---- AL2023 NodeConfig --------------------------------------------------------------------- */

static yaml_node_t *ymap_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp((const char *)k->data.scalar.value, key) == 0)
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}

static const char *yscalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int nodeconfig_facts(struct userdata_facts *f, const char *t, size_t len,
                            struct core_err *err)
{
    yaml_parser_t p;
    yaml_document_t d;
    yaml_node_t *root, *spec, *cl, *kub, *cfg, *n;
    const char *s;
    int rc = 0;

    if (!yaml_parser_initialize(&p))
        return core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
    yaml_parser_set_input_string(&p, (const unsigned char *)t, len);
    if (!yaml_parser_load(&p, &d)) {
        rc = core_err_set(err, CORE_E_PARSE, "userdata: NodeConfig: %s",
                          p.problem ? p.problem : "not YAML");
        yaml_parser_delete(&p);
        return rc;
    }
    root = yaml_document_get_root_node(&d);
    s = yscalar(ymap_get(&d, root, "kind"));
    if (!s || strcmp(s, "NodeConfig") != 0) {
        rc = core_err_set(err, CORE_E_PARSE, "userdata: NodeConfig part without kind NodeConfig");
        goto out;
    }
    f->family = K8S_AMI_AL2023;
    spec = ymap_get(&d, root, "spec");
    cl = ymap_get(&d, spec, "cluster");
    kub = ymap_get(&d, spec, "kubelet");
    cfg = ymap_get(&d, kub, "config");
    if ((s = yscalar(ymap_get(&d, cl, "name"))) && (rc = set_str(&f->cluster_name, s, strlen(s))))
        goto nomem;
    if ((s = yscalar(ymap_get(&d, cl, "apiServerEndpoint"))) &&
        (rc = set_str(&f->endpoint, s, strlen(s))))
        goto nomem;
    if ((s = yscalar(ymap_get(&d, cl, "certificateAuthority"))) &&
        (rc = set_str(&f->ca_bundle, s, strlen(s))))
        goto nomem;
    if (f->cluster_name && f->endpoint)
        f->joins = 1;
    n = ymap_get(&d, cfg, "clusterDNS");
    if (n && n->type == YAML_SEQUENCE_NODE && n->data.sequence.items.start < n->data.sequence.items.top &&
        (s = yscalar(yaml_document_get_node(&d, *n->data.sequence.items.start))) &&
        (rc = set_str(&f->cluster_dns, s, strlen(s))))
        goto nomem;
    if ((s = yscalar(ymap_get(&d, cfg, "maxPods"))) && (rc = set_max_pods(f, s, err)))
        goto out;
    n = ymap_get(&d, cfg, "registerWithTaints");
    if (n && n->type == YAML_SEQUENCE_NODE) {
        clear_taints(f);
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            yaml_node_t *tn = yaml_document_get_node(&d, *it);
            const char *k = yscalar(ymap_get(&d, tn, "key"));
            const char *v = yscalar(ymap_get(&d, tn, "value"));
            const char *e = yscalar(ymap_get(&d, tn, "effect"));
            enum k8s_effect eff;
            if (!k || !e || parse_effect(e, strlen(e), &eff) != 0) {
                rc = core_err_set(err, CORE_E_PARSE, "userdata: NodeConfig: malformed taint");
                goto out;
            }
            if ((rc = add_taint(f, k, strlen(k), v ? v : "", v ? strlen(v) : 0, v != NULL, eff)))
                goto nomem;
        }
    }
    n = ymap_get(&d, kub, "flags");
    if (n && n->type == YAML_SEQUENCE_NODE)
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            s = yscalar(yaml_document_get_node(&d, *it));
            if (s && strncmp(s, "--", 2) == 0 && (rc = parse_kubelet_args(f, s, err)))
                goto out;
        }
    goto out;
nomem:
    rc = core_err_set(err, CORE_E_NOMEM, "userdata: out of memory");
out:
    yaml_document_delete(&d);
    yaml_parser_delete(&p);
    return rc;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

static int starts_with(const char *t, size_t len, const char *p)
{
    size_t n = strlen(p);
    return len >= n && memcmp(t, p, n) == 0;
}

static int contains(const char *t, size_t len, const char *p)
{
    size_t n = strlen(p);
    for (size_t i = 0; i + n <= len; i++)
        if (t[i] == p[0] && memcmp(t + i, p, n) == 0)
            return 1;
    return 0;
}

static int looks_like_toml(const char *t, size_t len)
{
    size_t i = 0;
    while (i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n'))
        i++;
    return starts_with(t + i, len - i, "[settings") || contains(t, len, "\n[settings");
}

static int is_nodeconfig_text(const char *t, size_t len)
{
    return contains(t, len, "node.eks.aws/") && contains(t, len, "NodeConfig");
}

static int inspect_plain(struct userdata_facts *f, const char *t, size_t len, int is_nodeconfig,
                         struct core_err *err)
{
    int rc;
    if (is_nodeconfig)
        return nodeconfig_facts(f, t, len, err);
    rc = scan_warm(f, t, len, 0, err);
    if (!rc)
        rc = scan_bootstrap(f, t, len, err);
    return rc;
}

static int inspect_doc(struct userdata_facts *f, const char *t, size_t len, struct core_err *err)
{
    struct userdata_mime m;
    int rc = 0;

    if (userdata_mime_detect(t, len)) {
        rc = userdata_mime_parse(t, len, &m, err);
        if (rc) {
            if (rc == CORE_E_NOMEM)
                return rc;
            if (err)
                err->code = CORE_E_PARSE;
            return CORE_E_PARSE;
        }
        for (size_t i = 0; i < m.nparts && !rc; i++) {
            const struct userdata_mime_part *p = &m.parts[i];
            int nc = strcmp(p->content_type, "application/node.eks.aws") == 0;
            if (nc || strcmp(p->content_type, "text/x-shellscript") == 0 || p->content_type[0] == 0)
                rc = inspect_plain(f, p->body, p->body_len, nc, err);
        }
        userdata_mime_cleanup(&m);
        return rc;
    }
    if (starts_with(t, len, "<powershell>"))
        return scan_windows(f, t, len, err);
    if (looks_like_toml(t, len))
        return userdata_bottlerocket_inspect(t, len, f, err);
    if (starts_with(t, len, "#!"))
        return inspect_plain(f, t, len, 0, err);
    if (is_nodeconfig_text(t, len))
        return inspect_plain(f, t, len, 1, err);
    return 0; /* something else: no join configuration we know of */
}

int userdata_inspect(const char *raw, size_t len, struct userdata_facts *out,
                     struct core_err *err)
{
    struct userdata_facts f;
    struct core_buf dec;
    int rc;

    memset(&f, 0, sizeof f);
    core_buf_init(&dec, USERDATA_RAW_MAX);
    if (len >= 2 && (unsigned char)raw[0] == 0x1f && (unsigned char)raw[1] == 0x8b) {
        rc = userdata_decode(raw, len, 0, &dec, err);
        if (rc) {
            if (rc != CORE_E_NOMEM && rc != CORE_E_TOOBIG) {
                rc = CORE_E_PARSE;
                if (err)
                    err->code = rc;
            }
            goto out;
        }
        raw = core_buf_cstr(&dec);
        len = dec.len;
    }
    if (len > USERDATA_RAW_MAX) {
        rc = core_err_set(err, CORE_E_TOOBIG, "userdata: more than %u bytes", USERDATA_RAW_MAX);
        goto out;
    }
    rc = inspect_doc(&f, raw, len, err);
    if (rc)
        goto out;
    *out = f;
    memset(&f, 0, sizeof f);
out:
    userdata_facts_cleanup(&f);
    core_buf_cleanup(&dec);
    return rc;
}
