/*
 * k8s/config.c — where the API server is and how to authenticate: kubeconfig files (libyaml's
 * document API) and the in-cluster service-account mount.
 *
 * A kubeconfig load reads every file of the ':'-separated list (a file that does not exist is
 * skipped, as kubectl skips it), checks the shape of each document, then resolves one context:
 * the context entry, its cluster and its user, each taken from the first file that defines
 * that name (kubectl's merge rule), and current-context from the first file that sets it.
 *
 * Invariants:
 *  - Every message names the file (and, once known, the context/cluster/user entry and the
 *    field) and says what was expected. YAML and type errors carry the line. No message ever
 *    holds a token, a key, a certificate or a decoded blob: only names, paths, lengths.
 *  - Out-parameters are written only on success; on failure everything built is released,
 *    secrets wiped first (OPENSSL_cleanse).
 *  - Nothing that weakens TLS is accepted: insecure-skip-tls-verify: true is refused, and so
 *    are fields stoker cannot honour (tls-server-name, proxy-url, impersonation, basic auth,
 *    auth-provider, client certificates from exec plugins, provideClusterInfo). A field that
 *    changes where or as whom stoker connects is never silently ignored.
 *  - Every read is bounded: a kubeconfig over KCF_FILE_MAX, a certificate or key over
 *    KCF_PEM_MAX is an error; only regular files are read (a FIFO or device never blocks us).
 *  - Relative paths (certificate-authority, client-certificate, client-key, tokenFile, an exec
 *    command containing '/') are resolved against the absolute directory of the file that holds
 *    the entry, so they stay valid whatever the process's working directory becomes.
 *  - Names are looked up only for the selected context, cluster and user; entries that are not
 *    used are checked for shape (a list of mappings with a name) but not for content, as
 *    kubectl validates only what it uses. A name defined twice in one file is an error.
 *  - Semantics of the kubeconfig's own fields: unknown keys are ignored (kubectl ignores them
 *    too); a plain null ("", "~", "null") counts as absent.
 */
#include "k8s/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define KCF_FILE_MAX (4u * 1024u * 1024u) /* one kubeconfig file */
#define KCF_PEM_MAX (1024u * 1024u)       /* a certificate or key file, or decoded data */
#define KCF_NS_MAX 4096u                  /* the in-cluster namespace file */
#define KCF_FILES_MAX 64u                 /* files in one KUBECONFIG list */
#define KCF_WHERE_MAX 320u
#define KCF_TEXT_MAX 1024u                /* the in-cluster server URL */
#define KCF_HOST_MAX 253u                 /* a DNS name; an IPv6 address is shorter */
#define KCF_DEFAULT_NS "default"
#define KCF_IN_CLUSTER_ROOT "/var/run/secrets/kubernetes.io/serviceaccount"
#define KCF_EXEC_V1 "client.authentication.k8s.io/v1"
#define KCF_EXEC_V1BETA1 "client.authentication.k8s.io/v1beta1"

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

static void kcf_wipe_free(char *s, size_t len)
{
    if (s)
        OPENSSL_cleanse(s, len);
    core_free(s);
}

void k8s_config_cleanup(struct k8s_config *cfg)
{
    if (!cfg)
        return;
    core_free(cfg->server);
    core_free(cfg->ca_pem);
    core_free(cfg->ca_file);
    core_free(cfg->client_cert_pem);
    kcf_wipe_free(cfg->client_key_pem, cfg->client_key_len);
    core_free(cfg->namespace_);
    core_free(cfg->context);
    if (cfg->token)
        kcf_wipe_free(cfg->token, strlen(cfg->token));
    core_free(cfg->token_file);
    core_free(cfg->exec_command);
    for (size_t i = 0; i < cfg->exec_nargs && i < K8S_EXEC_MAX_ARGS; i++)
        core_free(cfg->exec_args[i]);
    /* Plugin environment values may be secrets (an API key handed to the plugin). */
    for (size_t i = 0; i < cfg->exec_nenv && i < K8S_EXEC_MAX_ENV; i++)
        if (cfg->exec_env[i])
            kcf_wipe_free(cfg->exec_env[i], strlen(cfg->exec_env[i]));
    core_free(cfg->exec_api_version);
    core_free(cfg->eks_cluster);
    core_free(cfg->eks_region);
    memset(cfg, 0, sizeof *cfg);
}

/* dir + "/" + rel, or a copy of rel when it is absolute. NULL on allocation failure. */
static char *kcf_join(const char *dir, const char *rel)
{
    size_t dl, rl = strlen(rel);
    int sep;
    char *out;

    if (rel[0] == '/')
        return core_strdup(rel);
    dl = strlen(dir);
    sep = dl == 0 || dir[dl - 1] != '/';
    out = core_malloc(dl + (size_t)sep + rl + 1);
    if (!out)
        return NULL;
    memcpy(out, dir, dl);
    if (sep)
        out[dl] = '/';
    memcpy(out + dl + (size_t)sep, rel, rl + 1);
    return out;
}

/* The absolute directory of a file path (relative paths against the working directory). */
static int kcf_dir_of(const char *path, char **out, struct core_err *err)
{
    char cwd[4096];
    const char *slash;
    char *abs = NULL, *dir = NULL;
    int rc = 0;

    if (path[0] == '/') {
        abs = core_strdup(path);
    } else {
        if (!getcwd(cwd, sizeof cwd)) {
            int e = errno;
            return core_err_set(err, -e, "kubeconfig %s: cannot resolve relative paths: getcwd: %s",
                                path, strerror(e));
        }
        abs = kcf_join(cwd, path);
    }
    if (!abs) {
        rc = core_err_set(err, CORE_E_NOMEM, "kubeconfig %s: out of memory", path);
        goto done;
    }
    slash = strrchr(abs, '/'); /* there is one: abs starts with '/' */
    dir = core_strndup(abs, slash == abs ? 1 : (size_t)(slash - abs));
    if (!dir) {
        rc = core_err_set(err, CORE_E_NOMEM, "kubeconfig %s: out of memory", path);
        goto done;
    }
    *out = dir;
done:
    core_free(abs);
    return rc;
}


/* ------------------------------------------------------------------------------------------ */
/* PEM material                                                                                */
/* ------------------------------------------------------------------------------------------ */

enum kcf_pem { KCF_PEM_CERT, KCF_PEM_KEY };

/* No passphrase prompt, ever: an encrypted key fails to load instead of reading a terminal. */
static int kcf_no_passphrase(char *buf, int size, int rwflag, void *ud)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)ud;
    return -1;
}

/* True when data holds at least one PEM certificate (KCF_PEM_CERT) or a PEM private key. */
static int kcf_pem_ok(const char *data, size_t len, enum kcf_pem kind)
{
    BIO *bio;
    int ok = 0;

    if (len == 0 || len > KCF_PEM_MAX)
        return 0;
    bio = BIO_new_mem_buf(data, (int)len);
    if (!bio)
        return 0;
    if (kind == KCF_PEM_CERT) {
        X509 *x = PEM_read_bio_X509(bio, NULL, kcf_no_passphrase, NULL);
        ok = x != NULL;
        X509_free(x);
    } else {
        EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, kcf_no_passphrase, NULL);
        ok = k != NULL;
        EVP_PKEY_free(k);
    }
    BIO_free(bio);
    ERR_clear_error(); /* leave nothing on the thread's queue for the TLS stack to trip on */
    return ok;
}

static const char *kcf_pem_what(enum kcf_pem kind)
{
    return kind == KCF_PEM_CERT ? "a PEM certificate" : "a PEM private key (unencrypted)";
}

/* Decodes base64 (newlines allowed) with OpenSSL into a NUL-terminated heap buffer. */
static int kcf_b64_decode(const char *in, size_t inlen, char **out, size_t *outlen)
{
    EVP_ENCODE_CTX *ctx = NULL;
    unsigned char *buf = NULL;
    size_t cap = (inlen / 4 + 1) * 3 + 1;
    int n1 = 0, n2 = 0, rc = CORE_E_PARSE;

    if (inlen > (size_t)KCF_PEM_MAX * 2)
        return CORE_E_TOOBIG;
    buf = core_malloc(cap);
    ctx = EVP_ENCODE_CTX_new();
    if (!buf || !ctx) {
        rc = CORE_E_NOMEM;
        goto done;
    }
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, buf, &n1, (const unsigned char *)in, (int)inlen) < 0)
        goto done;
    if (EVP_DecodeFinal(ctx, buf + n1, &n2) < 0)
        goto done;
    if ((size_t)n1 + (size_t)n2 >= cap)
        goto done;
    buf[n1 + n2] = '\0';
    *out = (char *)buf;
    *outlen = (size_t)n1 + (size_t)n2;
    buf = NULL;
    rc = 0;
done:
    if (buf) {
        OPENSSL_cleanse(buf, cap);
        core_free(buf);
    }
    EVP_ENCODE_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* YAML nodes                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* One loaded kubeconfig document. */
struct kcf_doc {
    const char *name; /* the file as named, for messages (borrowed) */
    char *dir;        /* absolute directory for relative references */
    yaml_document_t doc;
    int loaded;
    yaml_node_t *root; /* NULL for an empty document */
};

/* The selected entry a field belongs to, for messages: `kubeconfig F: user "u"`. */
struct kcf_where {
    struct kcf_doc *d;
    char text[KCF_WHERE_MAX];
};

static void kcf_where_set(struct kcf_where *w, struct kcf_doc *d, const char *what,
                          const char *name)
{
    w->d = d;
    if (what)
        snprintf(w->text, sizeof w->text, "kubeconfig %s: %s \"%s\"", d->name, what, name);
    else
        snprintf(w->text, sizeof w->text, "kubeconfig %s", d->name);
}

static unsigned long kcf_line(const yaml_node_t *n)
{
    return (unsigned long)n->start_mark.line + 1;
}

static const char *kcf_type_word(yaml_node_type_t t)
{
    switch (t) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_SCALAR_NODE:
        return "a scalar";
    default:
        return "nothing";
    }
}

static const char *kcf_type_name(const yaml_node_t *n)
{
    return kcf_type_word(n->type);
}

/* A plain (unquoted) null: "", "~", "null", "Null", "NULL". */
static int kcf_is_null(const yaml_node_t *n)
{
    const char *v;
    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    v = (const char *)n->data.scalar.value;
    return n->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static int kcf_scalar_is(const yaml_node_t *n, const char *s)
{
    return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == strlen(s) &&
           memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* Looks key up in mapping m: *out is its value, or NULL when absent or null. A key given twice
 * is an error (YAML forbids it; which one wins would be a guess). */
static int kcf_get(const struct kcf_where *w, yaml_node_t *m, const char *key, const char *field,
                   yaml_node_t **out, struct core_err *err)
{
    yaml_node_t *found = NULL;

    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&w->d->doc, p->key);
        if (!kcf_scalar_is(k, key))
            continue;
        if (found)
            return core_err_set(err, CORE_E_PARSE, "%s: line %lu: %s is given twice", w->text,
                                kcf_line(k), field);
        found = yaml_document_get_node(&w->d->doc, p->value);
    }
    *out = kcf_is_null(found) ? NULL : found;
    return 0;
}

/* Like kcf_get, and the value (when present) must be of type t. */
static int kcf_get_typed(const struct kcf_where *w, yaml_node_t *m, const char *key,
                         const char *field, yaml_node_type_t t, yaml_node_t **out,
                         struct core_err *err)
{
    yaml_node_t *v = NULL;
    int rc = kcf_get(w, m, key, field, &v, err);

    if (rc)
        return rc;
    if (v && v->type != t)
        return core_err_set(err, CORE_E_PARSE, "%s: line %lu: %s: expected %s, found %s",
                            w->text, kcf_line(v), field, kcf_type_word(t), kcf_type_name(v));
    *out = v;
    return 0;
}

/* The text of a scalar, refusing embedded NUL characters (a double-quoted "\0"), which would
 * silently cut a path or a name. */
static int kcf_text(const struct kcf_where *w, const yaml_node_t *n, const char *field,
                    const char **out, struct core_err *err)
{
    if (n->type != YAML_SCALAR_NODE)
        return core_err_set(err, CORE_E_PARSE, "%s: line %lu: %s: expected a string, found %s",
                            w->text, kcf_line(n), field, kcf_type_name(n));
    if (memchr(n->data.scalar.value, '\0', n->data.scalar.length))
        return core_err_set(err, CORE_E_PARSE, "%s: line %lu: %s: holds a NUL character",
                            w->text, kcf_line(n), field);
    *out = (const char *)n->data.scalar.value;
    return 0;
}

/* A string field: *out is NULL when absent, null or empty. */
static int kcf_get_str(const struct kcf_where *w, yaml_node_t *m, const char *key,
                       const char *field, const char **out, struct core_err *err)
{
    yaml_node_t *v = NULL;
    const char *s = NULL;
    int rc = kcf_get(w, m, key, field, &v, err);

    if (rc)
        return rc;
    if (v) {
        rc = kcf_text(w, v, field, &s, err);
        if (rc)
            return rc;
        if (!*s)
            s = NULL;
    }
    *out = s;
    return 0;
}

/* A boolean field (YAML 1.1 spellings, as kubectl's YAML reader takes them): *out is -1 when
 * absent. A quoted "true" is a string, not a boolean. */
static int kcf_get_bool(const struct kcf_where *w, yaml_node_t *m, const char *key,
                        const char *field, int *out, struct core_err *err)
{
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On",
                                      "ON", "y", "Y"};
    static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off",
                                     "OFF", "n", "N"};
    yaml_node_t *v = NULL;
    int rc = kcf_get(w, m, key, field, &v, err);

    if (rc)
        return rc;
    if (!v) {
        *out = -1;
        return 0;
    }
    if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
            if (kcf_scalar_is(v, yes[i])) {
                *out = 1;
                return 0;
            }
            if (kcf_scalar_is(v, no[i])) {
                *out = 0;
                return 0;
            }
        }
    }
    return core_err_set(err, CORE_E_PARSE, "%s: line %lu: %s: expected true or false", w->text,
                        kcf_line(v), field);
}

/* Present and not null, whatever its type: for fields that are refused outright. */
static int kcf_has(const struct kcf_where *w, yaml_node_t *m, const char *key, int *out,
                   struct core_err *err)
{
    yaml_node_t *v = NULL;
    int rc = kcf_get(w, m, key, key, &v, err);
    if (rc)
        return rc;
    /* An empty string or list says nothing either. */
    *out = v && !(v->type == YAML_SCALAR_NODE && v->data.scalar.length == 0) &&
           !(v->type == YAML_SEQUENCE_NODE &&
             v->data.sequence.items.start == v->data.sequence.items.top) &&
           !(v->type == YAML_MAPPING_NODE &&
             v->data.mapping.pairs.start == v->data.mapping.pairs.top);
    return 0;
}

static int kcf_nomem(const struct kcf_where *w, struct core_err *err)
{
    return core_err_set(err, CORE_E_NOMEM, "%s: out of memory", w->text);
}

/* ------------------------------------------------------------------------------------------ */
/* Documents: loading and shape                                                                */
/* ------------------------------------------------------------------------------------------ */

static void kcf_doc_cleanup(struct kcf_doc *d)
{
    if (d->loaded)
        yaml_document_delete(&d->doc);
    core_free(d->dir);
    memset(d, 0, sizeof *d);
}

/* The three named lists of a kubeconfig and the key of each item's body. */
static const char *const kcf_lists[3][2] = {
    {"clusters", "cluster"}, {"users", "user"}, {"contexts", "context"}};

/* Checks the shape kubectl's decoder would insist on: a mapping at the top; clusters, users
 * and contexts lists of mappings, each with a string name and a mapping body; current-context
 * a string. Content of the bodies is checked only for the entries that get used. */
static int kcf_check_shape(struct kcf_doc *d, struct core_err *err)
{
    struct kcf_where w;
    yaml_node_t *v = NULL;
    const char *s = NULL;
    int rc;

    kcf_where_set(&w, d, NULL, NULL);
    if (!d->root)
        return 0;
    if (d->root->type != YAML_MAPPING_NODE)
        return core_err_set(err, CORE_E_PARSE,
                            "%s: line %lu: expected a mapping at the top, found %s", w.text,
                            kcf_line(d->root), kcf_type_name(d->root));
    for (size_t l = 0; l < 3; l++) {
        const char *list = kcf_lists[l][0], *body = kcf_lists[l][1];
        rc = kcf_get_typed(&w, d->root, list, list, YAML_SEQUENCE_NODE, &v, err);
        if (rc)
            return rc;
        if (!v)
            continue;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *item = yaml_document_get_node(&d->doc, *it), *b = NULL;
            size_t idx = (size_t)(it - v->data.sequence.items.start);
            char field[64], bfield[80];
            snprintf(field, sizeof field, "%s[%zu]", list, idx);
            snprintf(bfield, sizeof bfield, "%s[%zu].%s", list, idx, body);
            if (!item || item->type != YAML_MAPPING_NODE)
                return core_err_set(err, CORE_E_PARSE,
                                    "%s: line %lu: %s: expected a mapping, found %s", w.text,
                                    item ? kcf_line(item) : kcf_line(v), field,
                                    item ? kcf_type_name(item) : "nothing");
            rc = kcf_get_str(&w, item, "name", field, &s, err);
            if (rc)
                return rc;
            if (!s)
                return core_err_set(err, CORE_E_PARSE, "%s: line %lu: %s: expected a name",
                                    w.text, kcf_line(item), field);
            rc = kcf_get_typed(&w, item, body, bfield, YAML_MAPPING_NODE, &b, err);
            if (rc)
                return rc;
        }
    }
    return kcf_get_str(&w, d->root, "current-context", "current-context", &s, err);
}

/* Parses data (len bytes) as the first YAML document of file `name`. */
static int kcf_doc_parse(struct kcf_doc *d, const char *data, size_t len, struct core_err *err)
{
    yaml_parser_t p;
    int rc = 0;

    if (!yaml_parser_initialize(&p))
        return core_err_set(err, CORE_E_NOMEM, "kubeconfig %s: out of memory", d->name);
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    if (!yaml_parser_load(&p, &d->doc)) {
        if (p.error == YAML_MEMORY_ERROR)
            rc = core_err_set(err, CORE_E_NOMEM, "kubeconfig %s: out of memory", d->name);
        else if (p.context)
            rc = core_err_set(err, CORE_E_PARSE,
                              "kubeconfig %s: line %lu column %lu: malformed YAML: %s (%s at line "
                              "%lu column %lu)",
                              d->name, (unsigned long)p.problem_mark.line + 1,
                              (unsigned long)p.problem_mark.column + 1,
                              p.problem ? p.problem : "error", p.context,
                              (unsigned long)p.context_mark.line + 1,
                              (unsigned long)p.context_mark.column + 1);
        else
            rc = core_err_set(err, CORE_E_PARSE,
                              "kubeconfig %s: line %lu column %lu: malformed YAML: %s", d->name,
                              (unsigned long)p.problem_mark.line + 1,
                              (unsigned long)p.problem_mark.column + 1,
                              p.problem ? p.problem : "error");
        goto done;
    }
    d->loaded = 1;
    d->root = yaml_document_get_root_node(&d->doc);
    rc = kcf_check_shape(d, err);
done:
    yaml_parser_delete(&p);
    return rc;
}

/* Finds the entry named `name` in list l of d: *body is its body mapping (NULL when the body
 * is absent or null), *found 1 when the name is there. Two entries with the name: an error. */
static int kcf_find(struct kcf_doc *d, size_t l, const char *name, int *found, yaml_node_t **body,
                    struct core_err *err)
{
    struct kcf_where w;
    yaml_node_t *v = NULL, *hit = NULL;
    const char *s = NULL;
    int rc;

    *found = 0;
    *body = NULL;
    if (!d->root)
        return 0;
    kcf_where_set(&w, d, NULL, NULL);
    rc = kcf_get(&w, d->root, kcf_lists[l][0], kcf_lists[l][0], &v, err);
    if (rc || !v)
        return rc;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(&d->doc, *it);
        /* Shape was checked: a mapping with a name. */
        rc = kcf_get_str(&w, item, "name", "name", &s, err);
        if (rc)
            return rc;
        if (!s || strcmp(s, name) != 0)
            continue;
        if (hit)
            return core_err_set(err, CORE_E_PARSE,
                                "kubeconfig %s: line %lu: %s: \"%s\" is defined twice", d->name,
                                kcf_line(item), kcf_lists[l][0], name);
        hit = item;
    }
    if (!hit)
        return 0;
    *found = 1;
    return kcf_get(&w, hit, kcf_lists[l][1], kcf_lists[l][1], body, err);
}

/* ------------------------------------------------------------------------------------------ */
/* Entries                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Reads a PEM file named by a field (relative to the entry's file) and checks its content. */
static int kcf_pem_file(const struct kcf_where *w, const char *field, const char *rel,
                        enum kcf_pem kind, char **path_out, char **pem, size_t *pem_len,
                        struct core_err *err)
{
    char *path = kcf_join(w->d->dir, rel), *data = NULL;
    size_t len = 0;
    char what[KCF_WHERE_MAX + 64];
    int rc;

    if (!path)
        return kcf_nomem(w, err);
    snprintf(what, sizeof what, "%s: %s", w->text, field);
    rc = core_read_file(what, path, KCF_PEM_MAX, &data, &len, err);
    if (rc)
        goto done;
    if (!kcf_pem_ok(data, len, kind)) {
        rc = core_err_set(err, CORE_E_PARSE, "%s %s: expected %s", what, path,
                          kcf_pem_what(kind));
        goto done;
    }
    if (path_out) {
        *path_out = path;
        path = NULL;
    }
    if (pem) {
        *pem = data;
        *pem_len = len;
        data = NULL;
    }
done:
    core_free(path);
    kcf_wipe_free(data, len);
    return rc;
}

/* Decodes a *-data field (base64 of PEM text) and checks its content. */
static int kcf_pem_data(const struct kcf_where *w, const char *field, const char *b64,
                        enum kcf_pem kind, char **pem, size_t *pem_len, struct core_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = kcf_b64_decode(b64, strlen(b64), &data, &len);

    if (rc == CORE_E_NOMEM)
        return kcf_nomem(w, err);
    if (rc == CORE_E_TOOBIG)
        return core_err_set(err, rc, "%s: %s: more than the limit of %u bytes", w->text, field,
                            KCF_PEM_MAX);
    if (rc)
        return core_err_set(err, rc, "%s: %s: expected base64 data", w->text, field);
    if (!kcf_pem_ok(data, len, kind)) {
        rc = core_err_set(err, CORE_E_PARSE, "%s: %s: expected base64 of %s (%zu bytes decoded)",
                          w->text, field, kcf_pem_what(kind), len);
        kcf_wipe_free(data, len);
        return rc;
    }
    *pem = data;
    *pem_len = len;
    return 0;
}

static int kcf_unsupported(const struct kcf_where *w, const char *field, const char *why,
                           struct core_err *err)
{
    return core_err_set(err, CORE_E_UNSUPPORTED, "%s: %s is not supported: %s", w->text, field,
                        why);
}

static int kcf_load_cluster(const struct kcf_where *w, yaml_node_t *c, struct k8s_config *cfg,
                            struct core_err *err)
{
    const char *server = NULL, *ca = NULL, *ca_data = NULL, *sni = NULL, *proxy = NULL, *host;
    int insecure = -1, rc;
    size_t n;

    if (!c)
        return core_err_set(err, CORE_E_INVAL, "%s: server: expected the API server's URL",
                            w->text);
    if ((rc = kcf_get_str(w, c, "server", "server", &server, err)) != 0 ||
        (rc = kcf_get_str(w, c, "certificate-authority", "certificate-authority", &ca, err)) != 0 ||
        (rc = kcf_get_str(w, c, "certificate-authority-data", "certificate-authority-data",
                          &ca_data, err)) != 0 ||
        (rc = kcf_get_bool(w, c, "insecure-skip-tls-verify", "insecure-skip-tls-verify",
                           &insecure, err)) != 0 ||
        (rc = kcf_get_str(w, c, "tls-server-name", "tls-server-name", &sni, err)) != 0 ||
        (rc = kcf_get_str(w, c, "proxy-url", "proxy-url", &proxy, err)) != 0)
        return rc;
    if (insecure == 1)
        return core_err_set(err, CORE_E_UNSUPPORTED,
                            "%s: insecure-skip-tls-verify: true is refused: stoker always verifies "
                            "the API server's certificate (give certificate-authority or "
                            "certificate-authority-data instead)",
                            w->text);
    if (sni)
        return kcf_unsupported(w, "tls-server-name",
                               "the server's certificate must match the host in server", err);
    if (proxy)
        return kcf_unsupported(w, "proxy-url", "stoker connects to the API server directly",
                               err);
    if (!server)
        return core_err_set(err, CORE_E_INVAL, "%s: server: expected the API server's URL",
                            w->text);
    host = strncmp(server, "https://", 8) == 0  ? server + 8
           : strncmp(server, "http://", 7) == 0 ? server + 7
                                                : NULL;
    for (const char *p = server; host && *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            host = NULL; /* no blank or control character belongs in a URL */
    if (!host || !*host || strchr("/?#", *host))
        return core_err_set(err, CORE_E_INVAL,
                            "%s: server: expected an https:// (or http://) URL with a host, got "
                            "\"%.128s\"",
                            w->text, server);
    n = strlen(server);
    while (n > 0 && server[n - 1] == '/')
        n--;
    cfg->server = core_strndup(server, n);
    if (!cfg->server)
        return kcf_nomem(w, err);
    if (ca && ca_data)
        return core_err_set(err, CORE_E_INVAL,
                            "%s: certificate-authority and certificate-authority-data are both "
                            "given: expected one of them",
                            w->text);
    if (ca)
        return kcf_pem_file(w, "certificate-authority", ca, KCF_PEM_CERT, &cfg->ca_file, NULL,
                            NULL, err);
    if (ca_data)
        return kcf_pem_data(w, "certificate-authority-data", ca_data, KCF_PEM_CERT, &cfg->ca_pem,
                            &cfg->ca_pem_len, err);
    return 0;
}

/* Offers EKS: an exec plugin that is `aws eks get-token --cluster-name X [--region R]` (options
 * in any order, `--opt=value` too, `--output` allowed; the region may also come from the
 * plugin's AWS_REGION / AWS_DEFAULT_REGION) gets eks_cluster/eks_region filled while auth
 * stays K8S_AUTH_EXEC: the caller decides whether to mint the token itself. Anything else
 * (another option such as --role-arn, an AWS_PROFILE in the plugin environment) means a
 * different identity, so nothing is offered. */
static int kcf_detect_eks(struct k8s_config *cfg)
{
    const char *cmd = cfg->exec_command, *base = strrchr(cmd, '/');
    const char *cluster = NULL, *region = NULL;
    int npos = 0;

    base = base ? base + 1 : cmd;
    if (strcmp(base, "aws") != 0)
        return 0;
    for (size_t i = 0; i < cfg->exec_nenv; i++) {
        const char *v = cfg->exec_env[i];
        if (strncmp(v, "AWS_PROFILE=", 12) == 0)
            return 0;
        /* The plugin's region when no --region says otherwise (AWS_REGION first, as the CLI). */
        if (strncmp(v, "AWS_REGION=", 11) == 0 && v[11])
            region = v + 11;
        else if (strncmp(v, "AWS_DEFAULT_REGION=", 19) == 0 && v[19] && !region)
            region = v + 19;
    }
    for (size_t i = 0; i < cfg->exec_nargs; i++) {
        const char *a = cfg->exec_args[i], *val = NULL, *eq;
        size_t nl;
        if (strncmp(a, "--", 2) != 0) {
            if ((npos == 0 && strcmp(a, "eks") == 0) ||
                (npos == 1 && strcmp(a, "get-token") == 0)) {
                npos++;
                continue;
            }
            return 0;
        }
        eq = strchr(a, '=');
        nl = eq ? (size_t)(eq - a) : strlen(a);
        if (eq)
            val = eq + 1;
        else if (i + 1 < cfg->exec_nargs)
            val = cfg->exec_args[++i];
        if (!val || !*val)
            return 0;
        if (nl == 14 && strncmp(a, "--cluster-name", nl) == 0)
            cluster = val;
        else if (nl == 8 && strncmp(a, "--region", nl) == 0)
            region = val;
        else if (!(nl == 8 && strncmp(a, "--output", nl) == 0))
            return 0;
    }
    if (npos != 2 || !cluster)
        return 0;
    cfg->eks_cluster = core_strdup(cluster);
    if (!cfg->eks_cluster)
        return CORE_E_NOMEM;
    if (region) {
        cfg->eks_region = core_strdup(region);
        if (!cfg->eks_region)
            return CORE_E_NOMEM;
    }
    return 0;
}

static int kcf_load_exec(const struct kcf_where *w, yaml_node_t *x, struct k8s_config *cfg,
                         struct core_err *err)
{
    yaml_node_t *args = NULL, *env = NULL;
    const char *cmd = NULL, *api = NULL, *s = NULL;
    int provide = -1, rc;
    char field[64];

    if ((rc = kcf_get_str(w, x, "command", "exec.command", &cmd, err)) != 0 ||
        (rc = kcf_get_str(w, x, "apiVersion", "exec.apiVersion", &api, err)) != 0 ||
        (rc = kcf_get_typed(w, x, "args", "exec.args", YAML_SEQUENCE_NODE, &args, err)) != 0 ||
        (rc = kcf_get_typed(w, x, "env", "exec.env", YAML_SEQUENCE_NODE, &env, err)) != 0 ||
        (rc = kcf_get_bool(w, x, "provideClusterInfo", "exec.provideClusterInfo", &provide,
                           err)) != 0 ||
        /* interactiveMode is read for its type only: stoker never has a terminal to offer. */
        (rc = kcf_get_str(w, x, "interactiveMode", "exec.interactiveMode", &s, err)) != 0)
        return rc;
    if (provide == 1)
        return kcf_unsupported(w, "exec.provideClusterInfo: true",
                               "stoker passes no cluster information to exec plugins", err);
    if (!cmd)
        return core_err_set(err, CORE_E_INVAL, "%s: exec.command: expected the plugin's command",
                            w->text);
    if (!api)
        return core_err_set(err, CORE_E_INVAL, "%s: exec.apiVersion: expected %s or %s", w->text,
                            KCF_EXEC_V1, KCF_EXEC_V1BETA1);
    if (strcmp(api, KCF_EXEC_V1) != 0 && strcmp(api, KCF_EXEC_V1BETA1) != 0)
        return core_err_set(err, CORE_E_UNSUPPORTED,
                            "%s: exec.apiVersion: \"%.80s\": expected %s or %s", w->text, api,
                            KCF_EXEC_V1, KCF_EXEC_V1BETA1);
    cfg->exec_api_version = core_strdup(api);
    cfg->exec_command = strchr(cmd, '/') ? kcf_join(w->d->dir, cmd) : core_strdup(cmd);
    if (!cfg->exec_api_version || !cfg->exec_command)
        return kcf_nomem(w, err);
    if (args) {
        for (yaml_node_item_t *it = args->data.sequence.items.start;
             it < args->data.sequence.items.top; it++) {
            size_t i = (size_t)(it - args->data.sequence.items.start);
            yaml_node_t *a = yaml_document_get_node(&w->d->doc, *it);
            snprintf(field, sizeof field, "exec.args[%zu]", i);
            if (i >= K8S_EXEC_MAX_ARGS)
                return core_err_set(err, CORE_E_TOOBIG, "%s: exec.args: more than %d arguments",
                                    w->text, K8S_EXEC_MAX_ARGS);
            s = "";
            if (!kcf_is_null(a) && (rc = kcf_text(w, a, field, &s, err)) != 0)
                return rc;
            cfg->exec_args[i] = core_strdup(s);
            if (!cfg->exec_args[i])
                return kcf_nomem(w, err);
            cfg->exec_nargs = i + 1;
        }
    }
    if (env) {
        for (yaml_node_item_t *it = env->data.sequence.items.start;
             it < env->data.sequence.items.top; it++) {
            size_t i = (size_t)(it - env->data.sequence.items.start);
            yaml_node_t *e = yaml_document_get_node(&w->d->doc, *it);
            const char *name = NULL, *value = NULL;
            size_t nl, vl;
            snprintf(field, sizeof field, "exec.env[%zu]", i);
            if (i >= K8S_EXEC_MAX_ENV)
                return core_err_set(err, CORE_E_TOOBIG, "%s: exec.env: more than %d variables",
                                    w->text, K8S_EXEC_MAX_ENV);
            if (!e || e->type != YAML_MAPPING_NODE)
                return core_err_set(err, CORE_E_PARSE,
                                    "%s: line %lu: %s: expected a mapping with name and value",
                                    w->text, e ? kcf_line(e) : kcf_line(env), field);
            snprintf(field, sizeof field, "exec.env[%zu].name", i);
            if ((rc = kcf_get_str(w, e, "name", field, &name, err)) != 0)
                return rc;
            if (!name || strchr(name, '='))
                return core_err_set(err, CORE_E_INVAL,
                                    "%s: line %lu: %s: expected a variable name without '='",
                                    w->text, kcf_line(e), field);
            snprintf(field, sizeof field, "exec.env[%zu].value", i);
            if ((rc = kcf_get_str(w, e, "value", field, &value, err)) != 0)
                return rc;
            if (!value)
                value = "";
            nl = strlen(name);
            vl = strlen(value);
            cfg->exec_env[i] = core_malloc(nl + vl + 2);
            if (!cfg->exec_env[i])
                return kcf_nomem(w, err);
            memcpy(cfg->exec_env[i], name, nl);
            cfg->exec_env[i][nl] = '=';
            memcpy(cfg->exec_env[i] + nl + 1, value, vl + 1);
            cfg->exec_nenv = i + 1;
        }
    }
    if (kcf_detect_eks(cfg) != 0)
        return kcf_nomem(w, err);
    cfg->auth = K8S_AUTH_EXEC;
    return 0;
}

static int kcf_load_user(const struct kcf_where *w, yaml_node_t *u, struct k8s_config *cfg,
                         struct core_err *err)
{
    static const char *const impersonation[] = {"as", "as-uid", "as-groups", "as-user-extra"};
    const char *token = NULL, *token_file = NULL, *cert = NULL, *cert_data = NULL, *key = NULL,
               *key_data = NULL;
    yaml_node_t *exec = NULL;
    int has = 0, has2 = 0, rc;

    if (!u)
        return 0; /* an empty user: anonymous */
    if ((rc = kcf_has(w, u, "username", &has, err)) != 0 ||
        (rc = kcf_has(w, u, "password", &has2, err)) != 0)
        return rc;
    if (has || has2)
        return kcf_unsupported(w, "username/password",
                               "basic authentication is not supported (use a token, a client "
                               "certificate or an exec plugin)",
                               err);
    if ((rc = kcf_has(w, u, "auth-provider", &has, err)) != 0)
        return rc;
    if (has)
        return kcf_unsupported(w, "auth-provider",
                               "auth-provider plugins are gone from Kubernetes (use exec)", err);
    for (size_t i = 0; i < sizeof impersonation / sizeof impersonation[0]; i++) {
        if ((rc = kcf_has(w, u, impersonation[i], &has, err)) != 0)
            return rc;
        if (has)
            return kcf_unsupported(w, impersonation[i], "stoker does not impersonate", err);
    }
    if ((rc = kcf_get_str(w, u, "token", "token", &token, err)) != 0 ||
        (rc = kcf_get_str(w, u, "tokenFile", "tokenFile", &token_file, err)) != 0 ||
        (rc = kcf_get_str(w, u, "client-certificate", "client-certificate", &cert, err)) != 0 ||
        (rc = kcf_get_str(w, u, "client-certificate-data", "client-certificate-data", &cert_data,
                          err)) != 0 ||
        (rc = kcf_get_str(w, u, "client-key", "client-key", &key, err)) != 0 ||
        (rc = kcf_get_str(w, u, "client-key-data", "client-key-data", &key_data, err)) != 0 ||
        (rc = kcf_get_typed(w, u, "exec", "exec", YAML_MAPPING_NODE, &exec, err)) != 0)
        return rc;
    if ((token != NULL) + (token_file != NULL) + (exec != NULL) > 1)
        return core_err_set(err, CORE_E_INVAL,
                            "%s: token, tokenFile and exec: expected at most one of them",
                            w->text);
    if (cert && cert_data)
        return core_err_set(err, CORE_E_INVAL,
                            "%s: client-certificate and client-certificate-data are both given: "
                            "expected one of them",
                            w->text);
    if (key && key_data)
        return core_err_set(err, CORE_E_INVAL,
                            "%s: client-key and client-key-data are both given: expected one of "
                            "them",
                            w->text);
    if ((cert || cert_data) != (key || key_data))
        return core_err_set(err, CORE_E_INVAL,
                            "%s: %s: expected a client certificate and a client key together",
                            w->text, cert || cert_data ? "client-key" : "client-certificate");
    if (cert)
        rc = kcf_pem_file(w, "client-certificate", cert, KCF_PEM_CERT, NULL,
                          &cfg->client_cert_pem, &cfg->client_cert_len, err);
    else if (cert_data)
        rc = kcf_pem_data(w, "client-certificate-data", cert_data, KCF_PEM_CERT,
                          &cfg->client_cert_pem, &cfg->client_cert_len, err);
    if (rc)
        return rc;
    if (key)
        rc = kcf_pem_file(w, "client-key", key, KCF_PEM_KEY, NULL, &cfg->client_key_pem,
                          &cfg->client_key_len, err);
    else if (key_data)
        rc = kcf_pem_data(w, "client-key-data", key_data, KCF_PEM_KEY, &cfg->client_key_pem,
                          &cfg->client_key_len, err);
    if (rc)
        return rc;
    if (token) {
        /* A control character would end the Authorization header early (header injection). */
        for (const char *p = token; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return core_err_set(err, CORE_E_INVAL, "%s: token: holds a control character",
                                    w->text);
        cfg->token = core_strdup(token);
        if (!cfg->token)
            return kcf_nomem(w, err);
        cfg->auth = K8S_AUTH_TOKEN;
    } else if (token_file) {
        /* Read by k8s_auth when a token is wanted, so rotation is seen. */
        cfg->token_file = kcf_join(w->d->dir, token_file);
        if (!cfg->token_file)
            return kcf_nomem(w, err);
        cfg->auth = K8S_AUTH_TOKEN_FILE;
    } else if (exec) {
        return kcf_load_exec(w, exec, cfg, err);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Resolution                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Finds the first document defining `name` in list l. */
static int kcf_lookup(struct kcf_doc *docs, size_t ndocs, size_t l, const char *name,
                      struct kcf_doc **doc, yaml_node_t **body, struct core_err *err)
{
    for (size_t i = 0; i < ndocs; i++) {
        int found = 0, rc = kcf_find(&docs[i], l, name, &found, body, err);
        if (rc)
            return rc;
        if (found) {
            *doc = &docs[i];
            return 0;
        }
    }
    *doc = NULL;
    return 0;
}

/* Resolves `context` (NULL: the first current-context) over the loaded documents. `names`
 * describes the files for messages about the whole set. */
static int kcf_resolve(struct kcf_doc *docs, size_t ndocs, const char *names, const char *context,
                       struct k8s_config *out, struct core_err *err)
{
    struct k8s_config cfg;
    struct kcf_where w;
    struct kcf_doc *cd = NULL, *kd = NULL, *ud = NULL;
    yaml_node_t *ctx = NULL, *cluster = NULL, *user = NULL;
    const char *cluster_name = NULL, *user_name = NULL, *ns = NULL;
    int rc = 0;

    memset(&cfg, 0, sizeof cfg);
    if (context && !*context)
        context = NULL;
    for (size_t i = 0; !context && i < ndocs; i++) {
        if (!docs[i].root)
            continue;
        kcf_where_set(&w, &docs[i], NULL, NULL);
        rc = kcf_get_str(&w, docs[i].root, "current-context", "current-context", &context, err);
        if (rc)
            goto done;
    }
    if (!context) {
        rc = core_err_set(err, CORE_E_INVAL,
                          "kubeconfig %s: current-context is not set and no context was given",
                          names);
        goto done;
    }
    rc = kcf_lookup(docs, ndocs, 2, context, &cd, &ctx, err);
    if (rc)
        goto done;
    if (!cd) {
        rc = core_err_set(err, CORE_E_NOTFOUND, "kubeconfig %s: context \"%s\" not found", names,
                          context);
        goto done;
    }
    kcf_where_set(&w, cd, "context", context);
    if (ctx) {
        if ((rc = kcf_get_str(&w, ctx, "cluster", "cluster", &cluster_name, err)) != 0 ||
            (rc = kcf_get_str(&w, ctx, "user", "user", &user_name, err)) != 0 ||
            (rc = kcf_get_str(&w, ctx, "namespace", "namespace", &ns, err)) != 0)
            goto done;
    }
    if (!cluster_name) {
        rc = core_err_set(err, CORE_E_INVAL, "%s: cluster: expected the name of a cluster",
                          w.text);
        goto done;
    }
    cfg.context = core_strdup(context);
    cfg.namespace_ = core_strdup(ns ? ns : KCF_DEFAULT_NS);
    if (!cfg.context || !cfg.namespace_) {
        rc = kcf_nomem(&w, err);
        goto done;
    }
    rc = kcf_lookup(docs, ndocs, 0, cluster_name, &kd, &cluster, err);
    if (rc)
        goto done;
    if (!kd) {
        rc = core_err_set(err, CORE_E_NOTFOUND, "%s: cluster: \"%s\" is not defined in %s",
                          w.text, cluster_name, names);
        goto done;
    }
    if (user_name) {
        rc = kcf_lookup(docs, ndocs, 1, user_name, &ud, &user, err);
        if (rc)
            goto done;
        if (!ud) {
            rc = core_err_set(err, CORE_E_NOTFOUND, "%s: user: \"%s\" is not defined in %s",
                              w.text, user_name, names);
            goto done;
        }
    }
    kcf_where_set(&w, kd, "cluster", cluster_name);
    rc = kcf_load_cluster(&w, cluster, &cfg, err);
    if (rc)
        goto done;
    if (ud) {
        kcf_where_set(&w, ud, "user", user_name);
        rc = kcf_load_user(&w, user, &cfg, err);
        if (rc)
            goto done;
    }
    *out = cfg;
    memset(&cfg, 0, sizeof cfg);
done:
    k8s_config_cleanup(&cfg);
    return rc;
}

int k8s_config_parse_kubeconfig(const char *data, size_t len, const char *name, const char *dir,
                                const char *context, struct k8s_config *out,
                                struct core_err *err)
{
    struct kcf_doc d;
    int rc;

    memset(&d, 0, sizeof d);
    if (!data || !name || !dir || !out)
        return core_err_set(err, CORE_E_INVAL, "kubeconfig: missing argument");
    d.name = name;
    if (len > KCF_FILE_MAX) {
        rc = core_err_set(err, CORE_E_TOOBIG, "kubeconfig %s: more than the limit of %u bytes",
                          name, KCF_FILE_MAX);
        goto done;
    }
    d.dir = core_strdup(dir);
    if (!d.dir) {
        rc = core_err_set(err, CORE_E_NOMEM, "kubeconfig %s: out of memory", name);
        goto done;
    }
    rc = kcf_doc_parse(&d, data, len, err);
    if (rc)
        goto done;
    rc = kcf_resolve(&d, 1, name, context, out, err);
done:
    kcf_doc_cleanup(&d);
    return rc;
}

int k8s_config_load_kubeconfig(const struct aws_env *env, const char *paths, const char *context,
                               struct k8s_config *out, struct core_err *err)
{
    struct kcf_doc *docs = NULL;
    size_t ndocs = 0;
    char *list = NULL, *data = NULL, *cursor;
    size_t len = 0;
    int rc = 0;

    if (!out)
        return core_err_set(err, CORE_E_INVAL, "kubeconfig: missing argument");
    if (!paths)
        paths = aws_env_get(env, "KUBECONFIG");
    if (paths) {
        list = core_strdup(paths);
    } else {
        const char *home = aws_env_get(env, "HOME");
        if (!home)
            return core_err_set(err, CORE_E_NOTFOUND,
                                "kubeconfig: neither KUBECONFIG nor HOME is set: expected a "
                                "kubeconfig path");
        list = kcf_join(home, ".kube/config");
    }
    if (!list)
        return core_err_set(err, CORE_E_NOMEM, "kubeconfig: out of memory");
    docs = core_calloc(KCF_FILES_MAX, sizeof *docs);
    if (!docs) {
        rc = core_err_set(err, CORE_E_NOMEM, "kubeconfig: out of memory");
        goto done;
    }
    for (char *p = list; p; p = cursor) {
        struct kcf_doc *d;
        cursor = strchr(p, ':');
        if (cursor)
            *cursor++ = '\0';
        if (!*p)
            continue;
        if (ndocs == KCF_FILES_MAX) {
            rc = core_err_set(err, CORE_E_TOOBIG, "kubeconfig: more than %u files in the list",
                              KCF_FILES_MAX);
            goto done;
        }
        rc = core_read_file("kubeconfig", p, KCF_FILE_MAX, &data, &len, err);
        if (rc == CORE_E_NOTFOUND) {
            rc = 0; /* kubectl skips files of the list that do not exist */
            continue;
        }
        if (rc)
            goto done;
        d = &docs[ndocs++];
        d->name = p;
        rc = kcf_dir_of(p, &d->dir, err);
        if (rc)
            goto done;
        rc = kcf_doc_parse(d, data, len, err);
        if (rc)
            goto done;
        /* A kubeconfig may hold a token or a key: wipe the text once it is parsed. */
        kcf_wipe_free(data, len);
        data = NULL;
    }
    if (ndocs == 0) {
        rc = core_err_set(err, CORE_E_NOTFOUND, "kubeconfig %s: no such file",
                          paths ? paths : list);
        goto done;
    }
    /* Messages about the whole set name the list as given (list was cut into pieces). */
    rc = kcf_resolve(docs, ndocs, paths ? paths : docs[0].name, context, out, err);
done:
    kcf_wipe_free(data, len);
    for (size_t i = 0; docs && i < ndocs; i++)
        kcf_doc_cleanup(&docs[i]);
    core_free(docs);
    core_free(list);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* In-cluster                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* A regular file exists at path (stat follows the service-account mount's symlinks). */
static int kcf_need_file(const char *what, const char *path, struct core_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return core_err_set(err, e == ENOENT ? CORE_E_NOTFOUND : -e, "in-cluster config: %s %s: %s",
                            what, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode))
        return core_err_set(err, CORE_E_INVAL, "in-cluster config: %s %s: expected a regular file",
                            what, path);
    return 0;
}

int k8s_config_in_cluster(const struct aws_env *env, const char *root, struct k8s_config *out,
                          struct core_err *err)
{
    struct k8s_config cfg;
    struct core_buf b;
    const char *host, *port;
    char *ns_path = NULL, *ns = NULL;
    size_t ns_len = 0;
    int64_t portnum = 0;
    int rc = 0;

    memset(&cfg, 0, sizeof cfg);
    core_buf_init(&b, KCF_TEXT_MAX);
    if (!out)
        return core_err_set(err, CORE_E_INVAL, "in-cluster config: missing argument");
    if (!root)
        root = KCF_IN_CLUSTER_ROOT;
    host = aws_env_get(env, "KUBERNETES_SERVICE_HOST");
    port = aws_env_get(env, "KUBERNETES_SERVICE_PORT");
    if (!host || !port) {
        rc = core_err_set(err, CORE_E_NOTFOUND,
                          "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT "
                          "must both be set (is this running in a pod?)");
        goto done;
    }
    if (strlen(host) > KCF_HOST_MAX) {
        rc = core_err_set(err, CORE_E_INVAL,
                          "in-cluster config: KUBERNETES_SERVICE_HOST: longer than %u characters",
                          KCF_HOST_MAX);
        goto done;
    }
    for (const char *p = host; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':')) {
            rc = core_err_set(err, CORE_E_INVAL,
                              "in-cluster config: KUBERNETES_SERVICE_HOST \"%.64s\": expected a "
                              "host name or an IP address",
                              host);
            goto done;
        }
    }
    if (core_parse_i64(port, 1, 65535, &portnum) != 0) {
        rc = core_err_set(err, CORE_E_INVAL,
                          "in-cluster config: KUBERNETES_SERVICE_PORT \"%.16s\": expected a port "
                          "number 1-65535",
                          port);
        goto done;
    }
    /* An IPv6 address needs brackets in a URL. */
    if (core_buf_appendf(&b, strchr(host, ':') ? "https://[%s]:%lld" : "https://%s:%lld", host,
                         (long long)portnum) != 0 ||
        core_buf_steal(&b, &cfg.server, NULL) != 0) {
        rc = core_err_set(err, CORE_E_NOMEM, "in-cluster config: out of memory");
        goto done;
    }
    cfg.token_file = kcf_join(root, "token");
    cfg.ca_file = kcf_join(root, "ca.crt");
    ns_path = kcf_join(root, "namespace");
    cfg.context = core_strdup("in-cluster");
    if (!cfg.token_file || !cfg.ca_file || !ns_path || !cfg.context) {
        rc = core_err_set(err, CORE_E_NOMEM, "in-cluster config: out of memory");
        goto done;
    }
    if ((rc = kcf_need_file("service-account token", cfg.token_file, err)) != 0 ||
        (rc = kcf_need_file("cluster CA", cfg.ca_file, err)) != 0)
        goto done;
    cfg.auth = K8S_AUTH_TOKEN_FILE;
    rc = core_read_file("in-cluster config: namespace file", ns_path, KCF_NS_MAX, &ns, &ns_len,
                       err);
    if (rc == CORE_E_NOTFOUND) {
        core_err_clear(err);
        rc = 0;
    } else if (rc) {
        goto done;
    }
    while (ns_len > 0 && (ns[ns_len - 1] == '\n' || ns[ns_len - 1] == '\r' ||
                          ns[ns_len - 1] == ' ' || ns[ns_len - 1] == '\t'))
        ns[--ns_len] = '\0';
    if (ns && memchr(ns, '\0', ns_len)) {
        rc = core_err_set(err, CORE_E_PARSE,
                          "in-cluster config: namespace file %s: holds a NUL byte", ns_path);
        goto done;
    }
    cfg.namespace_ = core_strdup(ns_len ? ns : KCF_DEFAULT_NS);
    if (!cfg.namespace_) {
        rc = core_err_set(err, CORE_E_NOMEM, "in-cluster config: out of memory");
        goto done;
    }
    *out = cfg;
    memset(&cfg, 0, sizeof cfg);
done:
    core_buf_cleanup(&b);
    core_free(ns);
    core_free(ns_path);
    k8s_config_cleanup(&cfg);
    return rc;
}
