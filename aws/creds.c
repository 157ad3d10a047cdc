/*
 * aws/creds.c — the credentials chain: environment keys, web identity (IRSA), container
 * credentials (EKS Pod Identity), shared files, IMDSv2; and a static provider.
 *
 * A provider answers aws_creds_get from a cache while the cached credentials are further than
 * refresh_before from expiry; otherwise it runs one fetch from its source and answers every
 * caller that waited for it.
 *
 * Invariants:
 *  - The chain picks the first configured source (environment, web identity, container,
 *    shared files, IMDS). A configured source that fails is an error naming it; the chain
 *    never falls through to the next source. Once a fetch succeeded the source is fixed for
 *    the provider's life, so credentials never switch identity behind the caller's back.
 *  - Callbacks run only from the loop: from this file's own 0-delay timer, never from inside
 *    aws_creds_get, and never from inside the transport's or the STS client's completion
 *    (a completion stores the result and arms the timer), except when arming that timer fails
 *    for lack of memory: then the waiters are answered from the completion itself, which is
 *    still on the loop, rather than left waiting for ever.
 *  - The internal STS client completes its calls with CORE_E_CANCELLED when freed; those
 *    completions are ignored once the provider is dying.
 *  - At most one fetch runs at a time (stage != CR_IDLE); callers arriving meanwhile join the
 *    waiter list and get the same result.
 *  - A failed refresh answers the cached credentials while they are still valid; the next get
 *    tries again because they are still inside the refresh window.
 *  - Environment, shared-file and static credentials are read once and never refreshed.
 *  - Token files (web identity, container authorization) are re-read on every fetch because
 *    they rotate. Every file and body is read within a fixed limit.
 *  - Secrets (secret keys, session tokens, web identity tokens, authorization tokens, the IMDS
 *    token) never appear in an error message: messages name the source, file, variable, field
 *    and body length, never content. Every buffer of this file that held one is wiped with
 *    OPENSSL_cleanse before it is freed, and so are the response bodies and the string values
 *    of parsed JSON documents (jansson's own lexer buffers are beyond reach).
 *  - aws_creds_provider_free cancels the HTTP exchange, the timer and the STS client without
 *    calling a callback. Called from a callback, it marks the provider dying and the memory is
 *    released when the outermost callback of this file returns (busy == 0).
 */
#include "aws/aws.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CR_REFRESH_DEFAULT (5 * 60 * CORE_NS_PER_S)
#define CR_TOKEN_FILE_MAX (16u * 1024u)    /* web identity / container authorization token */
#define CR_INI_FILE_MAX (1024u * 1024u)    /* a shared credentials or config file */
#define CR_INI_LINE_MAX 4096u
#define CR_JSON_MAX (64u * 1024u)          /* container / IMDS credentials document */
#define CR_URL_MAX 2048u
#define CR_ROLE_MAX 128u                   /* IAM role names are at most 64 characters */
#define CR_IMDS_TOKEN_MAX 4096u
#define CR_IMDS_TTL_S 21600
#define CR_IMDS_TTL_HEADER "X-aws-ec2-metadata-token-ttl-seconds: 21600"
#define CR_IMDS_TOKEN_HEADER "X-aws-ec2-metadata-token: "
#define CR_IMDS_TOKEN_MARGIN (60 * CORE_NS_PER_S) /* stop using a token this long before TTL */
#define CR_IMDS_CONNECT_TIMEOUT (1 * CORE_NS_PER_S) /* off EC2 nothing answers: fail fast */
#define CR_IMDS_TIMEOUT (2 * CORE_NS_PER_S)
#define CR_IMDS_DEFAULT "http://169.254.169.254"
#define CR_IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"
#define CR_CONTAINER_HOST "http://169.254.170.2"
#define CR_CONTAINER_CONNECT_TIMEOUT (2 * CORE_NS_PER_S)
#define CR_CONTAINER_TIMEOUT (5 * CORE_NS_PER_S)
#define CR_SESSION_DEFAULT "stoker"

/* Which step of a fetch is in flight. */
enum cr_stage {
    CR_IDLE = 0,
    CR_STS,         /* AssumeRoleWithWebIdentity through the internal client */
    CR_CONTAINER,   /* GET the container credentials URL */
    CR_IMDS_TOKEN,  /* PUT /latest/api/token */
    CR_IMDS_ROLE,   /* GET .../security-credentials/ */
    CR_IMDS_CREDS,  /* GET .../security-credentials/<role> */
};

struct cr_waiter {
    struct cr_waiter *next;
    aws_creds_fn cb;
    void *ud;
};

struct aws_creds_provider {
    struct core_loop *loop;          /* borrowed */
    struct core_http_transport *t;   /* borrowed; NULL for a static provider */
    const struct aws_env *env;       /* borrowed; NULL = process environment */
    const struct aws_config *cfg;    /* borrowed; NULL for a static provider */
    core_ns refresh_before;
    char *profile;                   /* opts copies; NULL = not given */
    char *session_name;
    char *home;

    enum aws_creds_source source;    /* reported by aws_creds_source */
    int locked;                      /* source fixed after the first success */
    int never_refresh;               /* static, environment, shared-file */
    struct aws_credentials cached;
    int have_cached;
    unsigned long fetches;

    struct cr_waiter *wait_head, *wait_tail;
    struct cr_waiter *dlv;           /* being answered now (aws_creds_cancel reaches them) */
    struct core_timer *timer;        /* the one pending 0-delay timer, or NULL */
    int result_ready;                /* res_* hold a result the timer is to deliver */
    int res_rc;
    struct core_err res_err;

    enum cr_stage stage;
    /* The HTTP exchange in flight: req and what it points to live until completion. */
    struct core_http_request req;
    uint64_t http_id;
    int http_active;
    char *url;
    char *hdr;                       /* the one request header; may hold a token: wiped */
    const char *hdrs[1];
    int imds_retried;                /* a 401 already restarted this fetch with a new token */
    char *imds_token;                /* wiped */
    core_ns imds_token_expiry;       /* monotonic */
    char *imds_role;

    struct aws_client *sts;          /* unsigned-only client for web identity; lazily made */

    int busy;                        /* callbacks of this file on the stack */
    int in_sts;                      /* inside the STS client's completion */
    int dying;                       /* freed while busy: released when busy drops to 0 */
};

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

const char *aws_creds_source_name(enum aws_creds_source src)
{
    switch (src) {
    case AWS_CREDS_STATIC: return "static";
    case AWS_CREDS_ENV: return "environment";
    case AWS_CREDS_WEB_IDENTITY: return "web-identity";
    case AWS_CREDS_CONTAINER: return "container";
    case AWS_CREDS_SHARED_FILE: return "shared-file";
    case AWS_CREDS_IMDS: return "imds";
    case AWS_CREDS_NONE: break;
    }
    return "none";
}

/* Wipes and frees a heap string that may hold a secret. Accepts NULL. */
static void cr_wipe_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    core_free(s);
}

void aws_credentials_cleanup(struct aws_credentials *c)
{
    if (!c)
        return;
    cr_wipe_free(c->secret_access_key);
    cr_wipe_free(c->session_token);
    core_free(c->access_key_id);
    memset(c, 0, sizeof *c);
}

/* dst is overwritten, not released first: pass a zeroed or already cleaned-up struct. */
int aws_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src)
{
    struct aws_credentials tmp;
    int rc = CORE_E_NOMEM;

    memset(&tmp, 0, sizeof tmp);
    if (!dst || !src)
        return CORE_E_INVAL;
    if (src->access_key_id && !(tmp.access_key_id = core_strdup(src->access_key_id)))
        goto done;
    if (src->secret_access_key &&
        !(tmp.secret_access_key = core_strdup(src->secret_access_key)))
        goto done;
    if (src->session_token && !(tmp.session_token = core_strdup(src->session_token)))
        goto done;
    tmp.expiration = src->expiration;
    *dst = tmp;
    memset(&tmp, 0, sizeof tmp);
    rc = 0;
done:
    aws_credentials_cleanup(&tmp);
    return rc;
}

/* a (la bytes) + b + c as one exact-size heap string: no realloc ever leaves a copy of a
 * secret behind. b and c may be NULL. */
static char *cr_join(const char *a, size_t la, const char *b, const char *c)
{
    size_t lb = b ? strlen(b) : 0, lc = c ? strlen(c) : 0;
    char *s = core_malloc(la + lb + lc + 1);
    if (!s)
        return NULL;
    memcpy(s, a, la);
    if (lb)
        memcpy(s + la, b, lb);
    if (lc)
        memcpy(s + la + lb, c, lc);
    s[la + lb + lc] = '\0';
    return s;
}

static int cr_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Length of s[0..n) without trailing whitespace. */
static size_t cr_rtrim(const char *s, size_t n)
{
    while (n > 0 && cr_is_space(s[n - 1]))
        n--;
    return n;
}

/* Whether every byte is visible ASCII (no space, no control, no 8-bit): what may go into a
 * header value or a URL unescaped. */
static int cr_visible(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}

static const char *cr_env(const struct aws_creds_provider *p, const char *name)
{
    return aws_env_get(p->env, name);
}

static core_ns cr_wall(const struct aws_creds_provider *p)
{
    return core_clock_wall(core_loop_clock(p->loop));
}

/* Cached credentials that need no refresh yet. */
static int cr_fresh(const struct aws_creds_provider *p, core_ns now)
{
    if (!p->have_cached)
        return 0;
    if (p->never_refresh || p->cached.expiration == 0)
        return 1;
    return p->cached.expiration - now > p->refresh_before;
}

/* Cached credentials that may still be used, if only as a fallback. */
static int cr_valid(const struct aws_creds_provider *p, core_ns now)
{
    if (!p->have_cached)
        return 0;
    return p->never_refresh || p->cached.expiration == 0 || now < p->cached.expiration;
}

/* Takes *c (zeroed afterwards) as the cached credentials. */
static void cr_install(struct aws_creds_provider *p, struct aws_credentials *c)
{
    aws_credentials_cleanup(&p->cached);
    p->cached = *c;
    memset(c, 0, sizeof *c);
    p->have_cached = 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Bounded file reading                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* Reads a whole file within limit (core_read_file); 1 when it does not exist and missing_ok. */
static int cr_read_file(const char *what, const char *path, size_t limit, int missing_ok,
                        char **out, size_t *len, struct core_err *err)
{
    struct core_err e;
    int rc;
    core_err_clear(&e);
    rc = core_read_file(what, path, limit, out, len, &e);
    if (rc == CORE_E_NOTFOUND && missing_ok)
        return 1;
    if (rc && err)
        *err = e;
    return rc;
}

/* Reads a token file (web identity, container authorization): at most CR_TOKEN_FILE_MAX bytes,
 * trailing whitespace dropped (a newline left by an editor or `echo` is not part of a JWT),
 * not empty, no NUL byte. *out is a heap string the caller wipes. */
static int cr_read_token(const char *what, const char *path, char **out, struct core_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = cr_read_file(what, path, CR_TOKEN_FILE_MAX, 0, &data, &len, err);

    if (rc)
        return rc;
    len = cr_rtrim(data, len);
    data[len] = '\0';
    if (len == 0) {
        rc = core_err_set(err, CORE_E_AUTH, "%s %s: the file is empty", what, path);
        goto done;
    }
    if (memchr(data, '\0', len)) {
        rc = core_err_set(err, CORE_E_PARSE, "%s %s: the file holds a NUL byte", what, path);
        goto done;
    }
    *out = data;
    data = NULL;
done:
    cr_wipe_free(data);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Shared files (INI)                                                                          */
/* ------------------------------------------------------------------------------------------ */

/* What one file says about the wanted profile. */
struct cr_prof {
    int section_found;       /* the profile's section exists */
    int has_any;             /* it holds a credentials key or an unsupported credentials key */
    char *akid, *secret, *token;
    char unsupported[64];    /* first unsupported key seen, "" if none */
};

static void cr_prof_cleanup(struct cr_prof *pr)
{
    core_free(pr->akid);
    cr_wipe_free(pr->secret);
    cr_wipe_free(pr->token);
    memset(pr, 0, sizeof *pr);
}

/* s[0..n) equals lit, ignoring ASCII case. */
static int cr_eq(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && strncasecmp(s, lit, n) == 0;
}

/* Trims both ends of s[0..*n): returns the new start and updates *n. */
static const char *cr_trim(const char *s, size_t *n)
{
    size_t l = *n;
    while (l > 0 && cr_is_space(*s)) {
        s++;
        l--;
    }
    *n = cr_rtrim(s, l);
    return s;
}

/* Length of s[0..n) before an inline comment: '#' or ';' preceded by whitespace. No AWS key,
 * secret or token contains either character, so this cannot cut a credential. */
static size_t cr_cut_comment(const char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if ((s[i] == '#' || s[i] == ';') && cr_is_space(s[i - 1]))
            return cr_rtrim(s, i);
    return n;
}

/* Whether a section name selects the profile: "[NAME]" in the credentials file; in the config
 * file "[profile NAME]", and "[default]" (or "[profile default]") for the default profile. */
static int cr_section_matches(const char *name, size_t n, int is_config, const char *profile)
{
    size_t pl = strlen(profile);

    if (!is_config)
        return n == pl && memcmp(name, profile, n) == 0;
    if (strcmp(profile, "default") == 0 && cr_eq(name, n, "default"))
        return 1;
    if (n > 7 && memcmp(name, "profile", 7) == 0 && cr_is_space(name[7])) {
        size_t rest = n - 7;
        const char *r = cr_trim(name + 7, &rest);
        return rest == pl && memcmp(r, profile, rest) == 0;
    }
    return 0;
}

/* Keys that configure a way of getting credentials this build does not implement. */
static int cr_unsupported_key(const char *k, size_t n)
{
    static const char *const keys[] = {"role_arn", "source_profile", "credential_source",
                                       "credential_process", "web_identity_token_file"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (cr_eq(k, n, keys[i]))
            return 1;
    return n > 4 && strncasecmp(k, "sso_", 4) == 0;
}

/* Replaces *slot with a copy of v[0..n) (the old value wiped). An empty value stores NULL. */
static int cr_set_value(char **slot, const char *v, size_t n)
{
    char *s = NULL;
    if (n > 0 && !(s = core_strndup(v, n)))
        return CORE_E_NOMEM;
    cr_wipe_free(*slot);
    *slot = s;
    return 0;
}

/*
 * Line-based INI reader, deliberately strict: "[section]" lines, "key = value" lines, full-line
 * comments (# or ;) and inline comments after whitespace, blank lines. Indented lines are only
 * accepted under a key with an empty value (the config file's nested settings, e.g.
 * "s3 =\n  addressing_style = path") and are skipped; any other line is a parse error naming
 * the file and line. Duplicate keys: the last one wins; a section may appear more than once.
 */
static int cr_ini_profile(const char *path, const char *data, size_t len, int is_config,
                          const char *profile, struct cr_prof *pr, struct core_err *err)
{
    size_t off = 0;
    unsigned lineno = 0;
    int in_section = 0, match = 0, nested = 0;

    while (off < len) {
        const char *line = data + off;
        const char *nl = memchr(line, '\n', len - off);
        size_t n = nl ? (size_t)(nl - line) : len - off;
        const char *s, *eq, *k, *v;
        size_t sl, kl, vl;
        int indented;

        off += n + (nl ? 1 : 0);
        lineno++;
        if (n > CR_INI_LINE_MAX)
            return core_err_set(err, CORE_E_TOOBIG,
                                "shared-file: %s line %u: longer than %u bytes", path, lineno,
                                CR_INI_LINE_MAX);
        if (memchr(line, '\0', n))
            return core_err_set(err, CORE_E_PARSE, "shared-file: %s line %u: NUL byte", path,
                                lineno);
        indented = n > 0 && (line[0] == ' ' || line[0] == '\t');
        sl = n;
        s = cr_trim(line, &sl);
        if (sl == 0 || s[0] == '#' || s[0] == ';')
            continue;
        if (indented) {
            if (nested)
                continue;
            return core_err_set(err, CORE_E_PARSE,
                                "shared-file: %s line %u: unexpected indentation (continuation "
                                "lines are not supported)", path, lineno);
        }
        nested = 0;
        if (s[0] == '[') {
            const char *close = memchr(s, ']', sl);
            size_t nl2, tail;
            const char *name, *rest;
            if (!close)
                return core_err_set(err, CORE_E_PARSE,
                                    "shared-file: %s line %u: section header without ']'",
                                    path, lineno);
            tail = sl - (size_t)(close + 1 - s);
            rest = cr_trim(close + 1, &tail);
            if (tail > 0 && rest[0] != '#' && rest[0] != ';')
                return core_err_set(err, CORE_E_PARSE,
                                    "shared-file: %s line %u: text after the section header",
                                    path, lineno);
            nl2 = (size_t)(close - s - 1);
            name = cr_trim(s + 1, &nl2);
            in_section = 1;
            match = cr_section_matches(name, nl2, is_config, profile);
            if (match)
                pr->section_found = 1;
            continue;
        }
        eq = memchr(s, '=', sl);
        if (!eq)
            return core_err_set(err, CORE_E_PARSE,
                                "shared-file: %s line %u: expected \"key = value\" or "
                                "\"[section]\"", path, lineno);
        kl = (size_t)(eq - s);
        k = cr_trim(s, &kl);
        vl = sl - (size_t)(eq + 1 - s);
        v = cr_trim(eq + 1, &vl);
        vl = cr_cut_comment(v, vl);
        if (kl == 0)
            return core_err_set(err, CORE_E_PARSE, "shared-file: %s line %u: empty key", path,
                                lineno);
        if (!in_section)
            return core_err_set(err, CORE_E_PARSE,
                                "shared-file: %s line %u: key before any [section]", path,
                                lineno);
        if (vl == 0)
            nested = 1;
        if (!match)
            continue;
        if (cr_eq(k, kl, "aws_access_key_id") || cr_eq(k, kl, "aws_secret_access_key") ||
            cr_eq(k, kl, "aws_session_token")) {
            char **slot = cr_eq(k, kl, "aws_access_key_id")       ? &pr->akid
                          : cr_eq(k, kl, "aws_secret_access_key") ? &pr->secret
                                                                  : &pr->token;
            pr->has_any = 1;
            if (cr_set_value(slot, v, vl))
                return core_err_set(err, CORE_E_NOMEM, "shared-file: %s: out of memory",
                                    path);
        } else if (cr_unsupported_key(k, kl)) {
            pr->has_any = 1;
            if (!pr->unsupported[0]) {
                size_t cl = kl < sizeof pr->unsupported - 1 ? kl : sizeof pr->unsupported - 1;
                memcpy(pr->unsupported, k, cl);
                pr->unsupported[cl] = '\0';
            }
        }
    }
    return 0;
}

/* Reads and parses one shared file if it exists (a missing file says nothing). */
static int cr_ini_load(const char *path, int is_config, const char *profile, struct cr_prof *pr,
                       struct core_err *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc;

    if (!path)
        return 0;
    rc = cr_read_file("shared-file:", path, CR_INI_FILE_MAX, 1, &data, &len, err);
    if (rc == 1)
        return 0;
    if (rc)
        return rc;
    rc = cr_ini_profile(path, data, len, is_config, profile, pr, err);
    OPENSSL_cleanse(data, len);
    core_free(data);
    return rc;
}

/* Where the shared files are and which profile to use. */
struct cr_shared {
    char *cred_path;      /* NULL when neither the variable nor a home directory is known */
    char *conf_path;
    const char *profile;  /* borrowed */
    const char *profile_from; /* "the caller", "AWS_PROFILE" or NULL for the default */
};

static void cr_shared_cleanup(struct cr_shared *sh)
{
    core_free(sh->cred_path);
    core_free(sh->conf_path);
    memset(sh, 0, sizeof *sh);
}

/* The file a variable names (a leading "~/" means the home directory), else home + dflt. */
static int cr_shared_path(const char *var_value, const char *home, const char *dflt,
                          char **out)
{
    char *s = NULL;

    if (var_value && strncmp(var_value, "~/", 2) == 0 && home)
        s = cr_join(home, strlen(home), var_value + 1, NULL);
    else if (var_value)
        s = core_strdup(var_value);
    else if (home)
        s = cr_join(home, strlen(home), dflt, NULL);
    else {
        *out = NULL;
        return 0;
    }
    if (!s)
        return CORE_E_NOMEM;
    *out = s;
    return 0;
}

static int cr_shared_locate(const struct aws_creds_provider *p, struct cr_shared *sh,
                            struct core_err *err)
{
    const char *home = p->home ? p->home : cr_env(p, "HOME");
    const char *envprof = cr_env(p, "AWS_PROFILE");
    int rc;

    memset(sh, 0, sizeof *sh);
    if (p->profile) {
        sh->profile = p->profile;
        sh->profile_from = "the caller";
    } else if (envprof) {
        sh->profile = envprof;
        sh->profile_from = "AWS_PROFILE";
    } else {
        sh->profile = "default";
    }
    rc = cr_shared_path(cr_env(p, "AWS_SHARED_CREDENTIALS_FILE"), home, "/.aws/credentials",
                        &sh->cred_path);
    if (!rc)
        rc = cr_shared_path(cr_env(p, "AWS_CONFIG_FILE"), home, "/.aws/config",
                            &sh->conf_path);
    if (rc) {
        cr_shared_cleanup(sh);
        return core_err_set(err, rc, "shared-file: %s", core_strerror(rc));
    }
    return 0;
}

/* Loads the profile's keys. Returns 1 when the shared files do not configure credentials for
 * the profile (no such profile, or one without any credentials key), 0 with *out filled, or an
 * error naming the file and the key. */
static int cr_shared_load(const struct cr_shared *sh, struct aws_credentials *out,
                          struct core_err *err)
{
    struct cr_prof cp, fp;
    struct aws_credentials c;
    const char *src_path;
    int rc;

    memset(&cp, 0, sizeof cp);
    memset(&fp, 0, sizeof fp);
    memset(&c, 0, sizeof c);
    rc = cr_ini_load(sh->cred_path, 0, sh->profile, &cp, err);
    if (!rc)
        rc = cr_ini_load(sh->conf_path, 1, sh->profile, &fp, err);
    if (rc)
        goto done;
    if (!cp.section_found && !fp.section_found && sh->profile_from) {
        /* An explicitly chosen profile that does not exist is a mistake to report, not a
         * reason to go on to the instance role. */
        rc = core_err_set(err, CORE_E_NOTFOUND,
                          "shared-file: profile \"%s\" (from %s) is in neither %s nor %s",
                          sh->profile, sh->profile_from,
                          sh->cred_path ? sh->cred_path : "(no credentials file)",
                          sh->conf_path ? sh->conf_path : "(no config file)");
        goto done;
    }
    if (!cp.has_any && !fp.has_any) {
        rc = 1;
        goto done;
    }
    src_path = cp.has_any ? sh->cred_path : sh->conf_path;
    if (cp.unsupported[0] || fp.unsupported[0]) {
        int in_cred = cp.unsupported[0] != '\0';
        rc = core_err_set(err, CORE_E_UNSUPPORTED,
                          "shared-file: profile \"%s\" in %s uses \"%s\": assume-role, "
                          "credential_process and SSO profiles are not supported; use static "
                          "keys, web identity, Pod Identity or the instance role",
                          sh->profile, in_cred ? sh->cred_path : sh->conf_path,
                          in_cred ? cp.unsupported : fp.unsupported);
        goto done;
    }
    /* The credentials file wins over the config file, key by key, as in the AWS CLI. */
    if (!cp.akid && !fp.akid) {
        rc = core_err_set(err, CORE_E_INVAL,
                          "shared-file: profile \"%s\" in %s has no aws_access_key_id",
                          sh->profile, src_path);
        goto done;
    }
    if (!cp.secret && !fp.secret) {
        rc = core_err_set(err, CORE_E_INVAL,
                          "shared-file: profile \"%s\" in %s has no aws_secret_access_key",
                          sh->profile, src_path);
        goto done;
    }
    c.access_key_id = core_strdup(cp.akid ? cp.akid : fp.akid);
    c.secret_access_key = core_strdup(cp.secret ? cp.secret : fp.secret);
    if (cp.token || fp.token)
        c.session_token = core_strdup(cp.token ? cp.token : fp.token);
    if (!c.access_key_id || !c.secret_access_key || ((cp.token || fp.token) && !c.session_token)) {
        rc = core_err_set(err, CORE_E_NOMEM, "shared-file: out of memory");
        goto done;
    }
    *out = c;
    memset(&c, 0, sizeof c);
    rc = 0;
done:
    aws_credentials_cleanup(&c);
    cr_prof_cleanup(&cp);
    cr_prof_cleanup(&fp);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Credentials documents (container, IMDS)                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A required or optional string member; NULL when absent. Secrets are checked for characters
 * that could break a header, never quoted. */
static int cr_json_field(const char *what, size_t body_len, json_t *root, const char *name,
                         int required, const char **out, struct core_err *err)
{
    json_t *v = json_object_get(root, name);
    const char *s;
    size_t n;

    if (!v || json_is_null(v)) {
        *out = NULL;
        if (!required)
            return 0;
        return core_err_set(err, CORE_E_PARSE, "%s: the answer (%zu bytes) has no \"%s\"",
                            what, body_len, name);
    }
    if (!json_is_string(v))
        return core_err_set(err, CORE_E_PARSE,
                            "%s: the answer (%zu bytes): \"%s\" is not a string", what,
                            body_len, name);
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0 || !cr_visible(s, n))
        return core_err_set(err, CORE_E_PARSE,
                            "%s: the answer (%zu bytes): \"%s\" is empty or holds characters "
                            "that are not visible ASCII", what, body_len, name);
    *out = s;
    return 0;
}

/* Wipes the string values of a parsed document before jansson frees them. */
static void cr_json_wipe(json_t *root)
{
    const char *key;
    json_t *v;

    json_object_foreach(root, key, v) {
        if (json_is_string(v))
            OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
    }
}

/* Decodes {"AccessKeyId","SecretAccessKey","Token","Expiration"} (IMDS adds "Code", which must
 * be "Success", and requires Token and Expiration; container credentials may omit them).
 * Messages give the body's length and the field at fault, never the body. */
static int cr_json_creds(const char *what, const char *body, size_t len, int imds,
                         struct aws_credentials *out, struct core_err *err)
{
    struct aws_credentials c;
    json_error_t je;
    json_t *root = NULL;
    const char *akid, *secret, *token, *exp, *code;
    core_ns expiration = 0;
    int rc;

    memset(&c, 0, sizeof c);
    if (len > CR_JSON_MAX)
        return core_err_set(err, CORE_E_TOOBIG, "%s: the answer is %zu bytes, more than %u",
                            what, len, CR_JSON_MAX);
    root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) /* je.text may quote the input: only its position is reported */
        return core_err_set(err, CORE_E_PARSE,
                            "%s: the answer (%zu bytes) is not JSON (line %d, column %d)", what,
                            len, je.line, je.column);
    if (!json_is_object(root)) {
        rc = core_err_set(err, CORE_E_PARSE, "%s: the answer (%zu bytes) is not a JSON object",
                          what, len);
        goto done;
    }
    if (imds) {
        rc = cr_json_field(what, len, root, "Code", 1, &code, err);
        if (rc)
            goto done;
        if (strcmp(code, "Success") != 0) {
            rc = core_err_set(err, CORE_E_AUTH, "%s: the answer's Code is \"%.64s\", not "
                              "\"Success\"", what, code);
            goto done;
        }
    }
    if ((rc = cr_json_field(what, len, root, "AccessKeyId", 1, &akid, err)) ||
        (rc = cr_json_field(what, len, root, "SecretAccessKey", 1, &secret, err)) ||
        (rc = cr_json_field(what, len, root, "Token", imds, &token, err)) ||
        (rc = cr_json_field(what, len, root, "Expiration", imds, &exp, err)))
        goto done;
    if (exp && core_time_parse_rfc3339(exp, &expiration) != 0) {
        rc = core_err_set(err, CORE_E_PARSE,
                          "%s: the answer's \"Expiration\" is not an RFC 3339 time", what);
        goto done;
    }
    c.access_key_id = core_strdup(akid);
    c.secret_access_key = core_strdup(secret);
    c.session_token = token ? core_strdup(token) : NULL;
    if (!c.access_key_id || !c.secret_access_key || (token && !c.session_token)) {
        rc = core_err_set(err, CORE_E_NOMEM, "%s: out of memory", what);
        goto done;
    }
    c.expiration = expiration;
    *out = c;
    memset(&c, 0, sizeof c);
    rc = 0;
done:
    aws_credentials_cleanup(&c);
    if (root) {
        if (json_is_object(root))
            cr_json_wipe(root);
        json_decref(root);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Answering callers                                                                           */
/* ------------------------------------------------------------------------------------------ */

static void cr_destroy(struct aws_creds_provider *p);

/* Leaves a callback of this file; releases the provider if it was freed meanwhile. */
static void cr_leave(struct aws_creds_provider *p)
{
    if (--p->busy == 0 && p->dying)
        cr_destroy(p);
}

/* Answers every waiter with the stored result. The waiters move to p->dlv and are popped one
 * at a time, so a callback may withdraw a later one (aws_creds_cancel); waiters added by a
 * callback form a new list whose own timer aws_creds_get armed. After
 * aws_creds_provider_free, the remaining waiters are dropped without a call. Caller holds busy. */
static void cr_deliver(struct aws_creds_provider *p)
{
    struct cr_waiter **tail = &p->dlv;
    struct cr_waiter *w;
    int rc = p->res_rc;

    while (*tail)
        tail = &(*tail)->next;
    *tail = p->wait_head;
    p->wait_head = p->wait_tail = NULL;
    p->result_ready = 0;
    while ((w = p->dlv) != NULL) {
        p->dlv = w->next;
        if (!p->dying) {
            if (rc == 0)
                w->cb(w->ud, 0, &p->cached, NULL);
            else
                w->cb(w->ud, rc, NULL, &p->res_err);
        }
        core_free(w);
    }
}

static void cr_on_timer(void *ud);

/* A fetch ended (rc 0: p->cached holds the new credentials). Stores the result — the cached
 * credentials when the refresh failed but they are still valid — and answers the waiters:
 * at once when called from this file's timer, else from a new timer. */
static void cr_fetch_done(struct aws_creds_provider *p, int rc, const struct core_err *e,
                          int from_timer)
{
    p->stage = CR_IDLE;
    if (rc == 0 || cr_valid(p, cr_wall(p))) {
        p->res_rc = 0;
        core_err_clear(&p->res_err);
    } else {
        p->res_rc = rc;
        p->res_err = *e;
        p->res_err.code = rc;
    }
    if (rc == 0)
        p->locked = 1;
    p->result_ready = 1;
    if (!from_timer) {
        if (!p->timer)
            p->timer = core_loop_timer_add(p->loop, 0, cr_on_timer, p);
        if (p->timer)
            return;
        /* Out of memory: answer from this completion (still on the loop) rather than never. */
    }
    cr_deliver(p);
}

/* ------------------------------------------------------------------------------------------ */
/* HTTP exchanges (container, IMDS)                                                            */
/* ------------------------------------------------------------------------------------------ */

static void cr_on_http(void *ud, struct core_http_response *resp);

/* Drops what the last request pointed to. */
static void cr_req_release(struct aws_creds_provider *p)
{
    core_free(p->url);
    cr_wipe_free(p->hdr);
    p->url = NULL;
    p->hdr = NULL;
    memset(&p->req, 0, sizeof p->req);
}

/* Sends one request; takes url (not NULL) and hdr (may be NULL), heap strings, in every case.
 * Stores them in p because the request must stay valid until completion. */
static int cr_http(struct aws_creds_provider *p, enum cr_stage stage, const char *method,
                   char *url, char *hdr, core_ns connect_timeout, core_ns timeout,
                   size_t max_response, struct core_err *err)
{
    int rc;

    cr_req_release(p);
    p->url = url;
    p->hdr = hdr;
    p->hdrs[0] = hdr;
    p->req.method = method;
    p->req.url = url;
    p->req.headers = p->hdrs;
    p->req.nheaders = hdr ? 1 : 0;
    p->req.max_response = max_response;
    p->req.connect_timeout = connect_timeout;
    p->req.timeout = timeout;
    p->req.on_done = cr_on_http;
    p->req.ud = p;
    rc = core_http_submit(p->t, &p->req, &p->http_id, err);
    if (rc) {
        cr_req_release(p);
        return rc;
    }
    p->http_active = 1;
    p->stage = stage;
    return 0;
}

/* Common checks of an answer: transport failure, then status. Messages name the source and
 * the URL and give the body's length only. */
static int cr_http_status(const char *what, const struct aws_creds_provider *p,
                          const struct core_http_response *resp, struct core_err *err)
{
    if (resp->result) {
        *err = resp->err;
        err->code = resp->result;
        if (!err->message[0])
            core_err_set(err, resp->result, "%s", core_strerror(resp->result));
        core_err_prefix(err, "%s", what);
        return resp->result;
    }
    if (resp->status < 200 || resp->status > 299) {
        int code = resp->status == 401 || resp->status == 403 ? CORE_E_AUTH
                   : resp->status == 404                      ? CORE_E_NOTFOUND
                                                              : CORE_E_HTTP;
        /* The URL without its query, which might carry a credential. */
        core_err_set(err, code, "%s: %s %.*s answered HTTP %ld (%zu-byte body not shown)", what,
                     p->req.method, (int)strcspn(p->url, "?#"), p->url, resp->status,
                     resp->body.len);
        core_err_set_service(err, resp->status, NULL, NULL);
        return code;
    }
    return 0;
}

/* ---- container credentials ---------------------------------------------------------------- */

/* An http:// FULL_URI may only point at this host: loopback, the ECS agent or the EKS Pod
 * Identity agent. Host names other than "localhost" are refused rather than resolved, so a
 * DNS answer can never redirect the authorization token. https:// may go anywhere. */
static int cr_http_host_allowed(const char *h, size_t n)
{
    static const char *const ok[] = {"localhost", "[::1]", "169.254.170.2", "169.254.170.23",
                                     "[fd00:ec2::23]"};
    size_t dots = 0;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (cr_eq(h, n, ok[i]))
            return 1;
    if (n < 7 || memcmp(h, "127.", 4) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i] == '.')
            dots++;
        else if (h[i] < '0' || h[i] > '9')
            return 0;
    }
    return dots == 3;
}

/* The URL to GET: http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI when set (it
 * wins, as in the AWS SDKs), else AWS_CONTAINER_CREDENTIALS_FULL_URI, checked. */
static int cr_container_url(const struct aws_creds_provider *p, char **out,
                            struct core_err *err)
{
    const char *rel = cr_env(p, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = cr_env(p, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
    const char *u = rel ? rel : full;
    const char *var = rel ? "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
                          : "AWS_CONTAINER_CREDENTIALS_FULL_URI";
    size_t n = strlen(u);
    char *s;
    int https;

    if (n > CR_URL_MAX || !cr_visible(u, n))
        return core_err_set(err, CORE_E_INVAL,
                            "container: %s must be at most %u visible ASCII characters", var,
                            CR_URL_MAX);
    if (rel) {
        if (rel[0] != '/')
            return core_err_set(err, CORE_E_INVAL, "container: %s must start with '/'", var);
        s = cr_join(CR_CONTAINER_HOST, strlen(CR_CONTAINER_HOST), rel, NULL);
    } else {
        const char *h;
        size_t hl;
        https = strncasecmp(u, "https://", 8) == 0;
        if (!https && strncasecmp(u, "http://", 7) != 0)
            return core_err_set(err, CORE_E_INVAL,
                                "container: %s must be an http:// or https:// URL", var);
        h = u + (https ? 8 : 7);
        hl = strcspn(h, "/?#");
        if (hl == 0 || memchr(h, '@', hl))
            return core_err_set(err, CORE_E_INVAL,
                                "container: %s must name a host (without user information)",
                                var);
        if (!https) {
            /* Drop the port: after "]" for IPv6 literals, after the last ':' otherwise. */
            const char *end = h[0] == '[' ? memchr(h, ']', hl) : memchr(h, ':', hl);
            size_t host_len = !end ? hl : h[0] == '[' ? (size_t)(end - h) + 1 : (size_t)(end - h);
            if (!cr_http_host_allowed(h, host_len))
                return core_err_set(err, CORE_E_INVAL,
                                    "container: %s: an http:// URL must point at a loopback "
                                    "address, 169.254.170.2, 169.254.170.23 or [fd00:ec2::23]; "
                                    "use https:// for any other host", var);
        }
        s = core_strdup(u);
    }
    if (!s)
        return core_err_set(err, CORE_E_NOMEM, "container: out of memory");
    *out = s;
    return 0;
}

static int cr_container_start(struct aws_creds_provider *p, struct core_err *err)
{
    const char *file = cr_env(p, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    const char *envtok = cr_env(p, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    char *url = NULL, *tok = NULL, *hdr = NULL;
    int rc;

    rc = cr_container_url(p, &url, err);
    if (rc)
        goto done;
    if (file) {
        rc = cr_read_token("container: authorization token file", file, &tok, err);
        if (rc)
            goto done;
    } else if (envtok) {
        if (!(tok = core_strdup(envtok))) {
            rc = core_err_set(err, CORE_E_NOMEM, "container: out of memory");
            goto done;
        }
    }
    if (tok) {
        /* The token becomes a header value: a control character would end the header. */
        for (const char *c = tok; *c; c++) {
            if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                rc = core_err_set(err, CORE_E_INVAL,
                                  "container: the authorization token from %s holds a control "
                                  "character", file ? file : "AWS_CONTAINER_AUTHORIZATION_TOKEN");
                goto done;
            }
        }
        hdr = cr_join("Authorization: ", 15, tok, NULL);
        if (!hdr) {
            rc = core_err_set(err, CORE_E_NOMEM, "container: out of memory");
            goto done;
        }
    }
    rc = cr_http(p, CR_CONTAINER, "GET", url, hdr, CR_CONTAINER_CONNECT_TIMEOUT,
                 CR_CONTAINER_TIMEOUT, CR_JSON_MAX, err);
    url = hdr = NULL; /* taken by cr_http */
    if (rc)
        core_err_prefix(err, "container");
done:
    core_free(url);
    cr_wipe_free(hdr);
    cr_wipe_free(tok);
    return rc;
}

static int cr_container_done(struct aws_creds_provider *p, struct core_http_response *resp,
                             struct core_err *err)
{
    struct aws_credentials c;
    int rc;

    memset(&c, 0, sizeof c);
    rc = cr_http_status("container", p, resp, err);
    if (!rc)
        rc = cr_json_creds("container", resp->body.data ? resp->body.data : "", resp->body.len,
                           0, &c, err);
    if (!rc)
        cr_install(p, &c);
    return rc;
}

/* ---- IMDSv2 ------------------------------------------------------------------------------- */

/* The IMDS base URL without trailing '/' as (pointer, length). */
static const char *cr_imds_base(const struct aws_creds_provider *p, size_t *n)
{
    const char *b = p->cfg->imds_endpoint[0] ? p->cfg->imds_endpoint : CR_IMDS_DEFAULT;
    size_t l = strlen(b);
    while (l > 0 && b[l - 1] == '/')
        l--;
    *n = l;
    return b;
}

static int cr_imds_http(struct aws_creds_provider *p, enum cr_stage stage, const char *method,
                        const char *path, const char *role, char *hdr, size_t max,
                        struct core_err *err)
{
    size_t bl;
    const char *base = cr_imds_base(p, &bl);
    char *url = cr_join(base, bl, path, role);
    int rc;

    if (!url || !hdr) {
        core_free(url);
        cr_wipe_free(hdr);
        return core_err_set(err, CORE_E_NOMEM, "imds: out of memory");
    }
    rc = cr_http(p, stage, method, url, hdr, CR_IMDS_CONNECT_TIMEOUT, CR_IMDS_TIMEOUT, max, err);
    if (rc)
        core_err_prefix(err, "imds");
    return rc;
}

static int cr_imds_put_token(struct aws_creds_provider *p, struct core_err *err)
{
    cr_wipe_free(p->imds_token);
    p->imds_token = NULL;
    return cr_imds_http(p, CR_IMDS_TOKEN, "PUT", "/latest/api/token", NULL,
                        core_strdup(CR_IMDS_TTL_HEADER), CR_IMDS_TOKEN_MAX, err);
}

static char *cr_imds_token_header(const struct aws_creds_provider *p)
{
    return cr_join(CR_IMDS_TOKEN_HEADER, strlen(CR_IMDS_TOKEN_HEADER), p->imds_token, NULL);
}

static int cr_imds_get_role(struct aws_creds_provider *p, struct core_err *err)
{
    return cr_imds_http(p, CR_IMDS_ROLE, "GET", CR_IMDS_CREDS_PATH, NULL,
                        cr_imds_token_header(p), CR_ROLE_MAX * 8, err);
}

static int cr_imds_start(struct aws_creds_provider *p, struct core_err *err)
{
    p->imds_retried = 0;
    if (p->imds_token && core_loop_now(p->loop) < p->imds_token_expiry)
        return cr_imds_get_role(p, err);
    return cr_imds_put_token(p, err);
}

/* IAM role names: letters, digits and + = , . @ _ - */
static int cr_role_ok(const char *s, size_t n)
{
    if (n == 0 || n > CR_ROLE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("+=,.@_-", c)))
            return 0;
    }
    return 1;
}

/* Handles one IMDS answer; returns 1 when the next request is in flight, 0 when the fetch
 * succeeded, negative on failure. */
static int cr_imds_step(struct aws_creds_provider *p, struct core_http_response *resp,
                        struct core_err *err)
{
    const char *body = resp->body.data ? resp->body.data : "";
    size_t len = resp->body.len;
    struct aws_credentials c;
    int rc;

    memset(&c, 0, sizeof c);
    rc = cr_http_status("imds", p, resp, err);
    /* A cached token the service no longer accepts: get a new one, once per fetch. */
    if (rc == CORE_E_AUTH && resp->status == 401 && p->stage != CR_IMDS_TOKEN &&
        !p->imds_retried) {
        p->imds_retried = 1;
        rc = cr_imds_put_token(p, err);
        return rc ? rc : 1;
    }
    if (rc == CORE_E_NOTFOUND && p->stage == CR_IMDS_ROLE)
        core_err_set(err, rc, "imds: this instance has no IAM role (GET %.*s answered HTTP 404)",
                     (int)strcspn(p->url, "?#"), p->url);
    if (rc)
        return rc;
    switch (p->stage) {
    case CR_IMDS_TOKEN:
        len = cr_rtrim(body, len);
        if (len == 0 || len > CR_IMDS_TOKEN_MAX || !cr_visible(body, len))
            return core_err_set(err, CORE_E_PARSE,
                                "imds: the token answer (%zu bytes) is not a token",
                                resp->body.len);
        cr_wipe_free(p->imds_token);
        p->imds_token = core_strndup(body, len);
        if (!p->imds_token)
            return core_err_set(err, CORE_E_NOMEM, "imds: out of memory");
        p->imds_token_expiry =
            core_loop_now(p->loop) + CR_IMDS_TTL_S * CORE_NS_PER_S - CR_IMDS_TOKEN_MARGIN;
        rc = cr_imds_get_role(p, err);
        return rc ? rc : 1;
    case CR_IMDS_ROLE: {
        const char *nl = memchr(body, '\n', len);
        size_t n = cr_rtrim(body, nl ? (size_t)(nl - body) : len);
        if (!cr_role_ok(body, n))
            return core_err_set(err, CORE_E_PARSE,
                                "imds: the role list (%zu bytes) does not start with an IAM "
                                "role name", len);
        core_free(p->imds_role);
        p->imds_role = core_strndup(body, n);
        if (!p->imds_role)
            return core_err_set(err, CORE_E_NOMEM, "imds: out of memory");
        rc = cr_imds_http(p, CR_IMDS_CREDS, "GET", CR_IMDS_CREDS_PATH, p->imds_role,
                          cr_imds_token_header(p), CR_JSON_MAX, err);
        return rc ? rc : 1;
    }
    case CR_IMDS_CREDS: {
        char what[CR_ROLE_MAX + 16];
        snprintf(what, sizeof what, "imds: role %s", p->imds_role);
        rc = cr_json_creds(what, body, len, 1, &c, err);
        if (rc)
            return rc;
        cr_install(p, &c);
        return 0;
    }
    default:
        break;
    }
    return core_err_set(err, CORE_E_STATE, "imds: answer in an unexpected state");
}

static void cr_on_http(void *ud, struct core_http_response *resp)
{
    struct aws_creds_provider *p = ud;
    struct core_err e;
    int rc;

    core_err_clear(&e);
    p->http_active = 0;
    p->busy++;
    if (p->stage == CR_CONTAINER)
        rc = cr_container_done(p, resp, &e);
    else
        rc = cr_imds_step(p, resp, &e);
    /* The body may hold the secret or the IMDS token: wipe it before the transport frees it. */
    if (resp->body.data)
        OPENSSL_cleanse(resp->body.data, resp->body.len);
    if (rc != 1) { /* 1: the next IMDS request is in flight */
        cr_req_release(p);
        cr_fetch_done(p, rc, &e, 0);
    }
    cr_leave(p);
}

/* ---- web identity ------------------------------------------------------------------------- */

static void cr_on_sts(void *ud, int rc, const struct aws_credentials *creds,
                      const struct core_err *err)
{
    struct aws_creds_provider *p = ud;
    struct aws_credentials c;
    struct core_err e;

    /* The client completes its calls with CORE_E_CANCELLED when cr_destroy frees it: the
     * provider is going away and nobody is to be answered. */
    if (p->dying)
        return;
    memset(&c, 0, sizeof c);
    core_err_clear(&e);
    p->busy++;
    p->in_sts++;
    if (rc == 0 && (!creds || !creds->access_key_id || !creds->secret_access_key))
        rc = core_err_set(&e, CORE_E_PARSE, "the answer has no credentials");
    else if (rc == 0 && aws_credentials_copy(&c, creds) != 0)
        rc = core_err_set(&e, CORE_E_NOMEM, "out of memory");
    else if (rc != 0 && err)
        e = *err;
    else if (rc != 0)
        core_err_set(&e, rc, "%s", core_strerror(rc));
    if (rc == 0)
        cr_install(p, &c);
    else
        core_err_prefix(&e, "web-identity: AssumeRoleWithWebIdentity for %s",
                        cr_env(p, "AWS_ROLE_ARN") ? cr_env(p, "AWS_ROLE_ARN") : "?");
    cr_fetch_done(p, rc, &e, 0);
    p->in_sts--;
    cr_leave(p);
}

static int cr_sts_start(struct aws_creds_provider *p, struct core_err *err)
{
    const char *arn = cr_env(p, "AWS_ROLE_ARN");
    const char *file = cr_env(p, "AWS_WEB_IDENTITY_TOKEN_FILE");
    const char *session = p->session_name ? p->session_name : cr_env(p, "AWS_ROLE_SESSION_NAME");
    char *tok = NULL;
    int rc;

    if (!session)
        session = CR_SESSION_DEFAULT;
    /* Re-read on every fetch: the kubelet rotates the projected token. */
    rc = cr_read_token("web-identity: token file", file, &tok, err);
    if (rc)
        return rc;
    if (!p->sts) {
        rc = aws_client_new(p->loop, p->t, NULL, p->cfg, NULL, &p->sts, err);
        if (rc) {
            core_err_prefix(err, "web-identity: STS client");
            goto done;
        }
    }
    p->stage = CR_STS;
    rc = aws_sts_assume_role_with_web_identity(p->sts, arn, session, tok, 0, cr_on_sts, p, err);
    if (rc) {
        p->stage = CR_IDLE;
        core_err_prefix(err, "web-identity: AssumeRoleWithWebIdentity for %s", arn);
    }
done:
    cr_wipe_free(tok);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Choosing and fetching                                                                       */
/* ------------------------------------------------------------------------------------------ */

static int cr_env_creds(const struct aws_creds_provider *p, struct aws_credentials *out,
                        struct core_err *err)
{
    struct aws_credentials c;
    const char *ak = cr_env(p, "AWS_ACCESS_KEY_ID");
    const char *sk = cr_env(p, "AWS_SECRET_ACCESS_KEY");
    const char *tk = cr_env(p, "AWS_SESSION_TOKEN");

    if (!ak || !sk)
        return core_err_set(err, CORE_E_INVAL, "environment: %s is set but %s is not",
                            ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                            ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    memset(&c, 0, sizeof c);
    c.access_key_id = core_strdup(ak);
    c.secret_access_key = core_strdup(sk);
    c.session_token = tk ? core_strdup(tk) : NULL;
    if (!c.access_key_id || !c.secret_access_key || (tk && !c.session_token)) {
        aws_credentials_cleanup(&c);
        return core_err_set(err, CORE_E_NOMEM, "environment: out of memory");
    }
    *out = c;
    return 0;
}

/* Picks the first configured source. Synchronous sources (environment, shared files) are read
 * here into *c. *src is the source chosen, also on failure (AWS_CREDS_NONE when nothing is
 * configured). */
static int cr_select(struct aws_creds_provider *p, enum aws_creds_source *src,
                     struct aws_credentials *c, struct core_err *err)
{
    struct cr_shared sh;
    int rc;

    *src = AWS_CREDS_NONE;
    if (cr_env(p, "AWS_ACCESS_KEY_ID") || cr_env(p, "AWS_SECRET_ACCESS_KEY")) {
        *src = AWS_CREDS_ENV;
        return cr_env_creds(p, c, err);
    }
    if (cr_env(p, "AWS_ROLE_ARN") || cr_env(p, "AWS_WEB_IDENTITY_TOKEN_FILE")) {
        *src = AWS_CREDS_WEB_IDENTITY;
        if (!cr_env(p, "AWS_ROLE_ARN") || !cr_env(p, "AWS_WEB_IDENTITY_TOKEN_FILE"))
            return core_err_set(err, CORE_E_INVAL, "web-identity: %s is set but %s is not",
                                cr_env(p, "AWS_ROLE_ARN") ? "AWS_ROLE_ARN"
                                                          : "AWS_WEB_IDENTITY_TOKEN_FILE",
                                cr_env(p, "AWS_ROLE_ARN") ? "AWS_WEB_IDENTITY_TOKEN_FILE"
                                                          : "AWS_ROLE_ARN");
        return 0;
    }
    if (cr_env(p, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") ||
        cr_env(p, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
        *src = AWS_CREDS_CONTAINER;
        return 0;
    }
    rc = cr_shared_locate(p, &sh, err);
    if (rc)
        return rc;
    rc = cr_shared_load(&sh, c, err);
    if (rc <= 0) {
        *src = AWS_CREDS_SHARED_FILE;
        goto done;
    }
    if (!p->cfg->imds_disabled) {
        *src = AWS_CREDS_IMDS;
        rc = 0;
        goto done;
    }
    rc = core_err_set(err, CORE_E_AUTH,
                      "no credentials found: looked for AWS_ACCESS_KEY_ID and "
                      "AWS_SECRET_ACCESS_KEY, AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, "
                      "AWS_CONTAINER_CREDENTIALS_FULL_URI or _RELATIVE_URI, profile \"%s\" in "
                      "%s and %s; IMDS is disabled (AWS_EC2_METADATA_DISABLED)",
                      sh.profile, sh.cred_path ? sh.cred_path : "(no HOME)",
                      sh.conf_path ? sh.conf_path : "(no HOME)");
done:
    cr_shared_cleanup(&sh);
    return rc;
}

/* Starts a fetch. Returns 0 when an asynchronous fetch is in flight, 1 when the credentials
 * were read at once (now cached), negative on failure with err naming the source. */
static int cr_fetch_start(struct aws_creds_provider *p, struct core_err *err)
{
    struct aws_credentials c;
    enum aws_creds_source src = p->source;
    int rc = 0;

    memset(&c, 0, sizeof c);
    if (!p->locked) {
        rc = cr_select(p, &src, &c, err);
        p->source = src;
        if (src == AWS_CREDS_NONE)
            return rc;
    }
    p->fetches++;
    if (rc)
        return rc;
    switch (src) {
    case AWS_CREDS_ENV:
    case AWS_CREDS_SHARED_FILE:
        cr_install(p, &c);
        p->never_refresh = 1;
        p->locked = 1;
        return 1;
    case AWS_CREDS_WEB_IDENTITY:
        return cr_sts_start(p, err);
    case AWS_CREDS_CONTAINER:
        return cr_container_start(p, err);
    case AWS_CREDS_IMDS:
        return cr_imds_start(p, err);
    default:
        break;
    }
    aws_credentials_cleanup(&c);
    return core_err_set(err, CORE_E_STATE, "credentials: nothing to fetch from %s",
                        aws_creds_source_name(src));
}

/* The 0-delay timer: delivers a stored result, or answers from the cache, or starts a fetch. */
static void cr_on_timer(void *ud)
{
    struct aws_creds_provider *p = ud;
    struct core_err e;
    int rc;

    p->timer = NULL;
    p->busy++;
    if (p->result_ready) {
        cr_deliver(p);
    } else if (p->stage == CR_IDLE && p->wait_head) {
        if (cr_fresh(p, cr_wall(p))) {
            p->res_rc = 0;
            cr_deliver(p);
        } else {
            core_err_clear(&e);
            rc = cr_fetch_start(p, &e);
            if (rc != 0) {
                if (rc > 0) {
                    rc = 0;
                } else if (!e.message[0]) {
                    core_err_set(&e, rc, "%s: %s", aws_creds_source_name(p->source),
                                 core_strerror(rc));
                }
                cr_fetch_done(p, rc, &e, 1);
            }
        }
    }
    cr_leave(p);
}

/* ------------------------------------------------------------------------------------------ */
/* Providers                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static void cr_free_waiters(struct cr_waiter *w)
{
    while (w) {
        struct cr_waiter *next = w->next;
        core_free(w);
        w = next;
    }
}

static void cr_destroy(struct aws_creds_provider *p)
{
    cr_free_waiters(p->wait_head);
    cr_free_waiters(p->dlv);
    /* The client must not be freed inside its own completion, which only happens when arming
     * the delivery timer failed and a waiter freed the provider from the inline answer: that
     * double failure leaks the client rather than freeing it under its own feet. */
    if (!p->in_sts)
        aws_client_free(p->sts);
    cr_req_release(p);
    aws_credentials_cleanup(&p->cached);
    cr_wipe_free(p->imds_token);
    core_free(p->imds_role);
    core_free(p->profile);
    core_free(p->session_name);
    core_free(p->home);
    core_free(p);
}

void aws_creds_provider_free(struct aws_creds_provider *p)
{
    if (!p || p->dying)
        return;
    p->dying = 1;
    if (p->timer)
        core_loop_timer_cancel(p->loop, p->timer);
    p->timer = NULL;
    if (p->http_active)
        core_http_cancel(p->t, p->http_id);
    p->http_active = 0;
    if (p->busy == 0)
        cr_destroy(p);
}

static int cr_opt_dup(const char *s, char **out)
{
    *out = NULL;
    if (s && !(*out = core_strdup(s)))
        return CORE_E_NOMEM;
    return 0;
}

int aws_creds_chain_new(struct core_loop *loop, struct core_http_transport *t,
                        const struct aws_env *env, const struct aws_config *cfg,
                        const struct aws_creds_opts *opts, struct aws_creds_provider **out,
                        struct core_err *err)
{
    struct aws_creds_provider *p = NULL;
    int rc;

    if (!loop || !t || !cfg || !out)
        return core_err_set(err, CORE_E_INVAL,
                            "credentials chain: loop, transport, config and out are required");
    if (opts && opts->refresh_before < 0)
        return core_err_set(err, CORE_E_INVAL,
                            "credentials chain: refresh_before must not be negative");
    p = core_calloc(1, sizeof *p);
    if (!p)
        return core_err_set(err, CORE_E_NOMEM, "credentials chain: out of memory");
    p->loop = loop;
    p->t = t;
    p->env = env;
    p->cfg = cfg;
    p->refresh_before =
        opts && opts->refresh_before > 0 ? opts->refresh_before : CR_REFRESH_DEFAULT;
    rc = cr_opt_dup(opts ? opts->profile : NULL, &p->profile);
    if (!rc)
        rc = cr_opt_dup(opts ? opts->role_session_name : NULL, &p->session_name);
    if (!rc)
        rc = cr_opt_dup(opts ? opts->home : NULL, &p->home);
    if (rc) {
        cr_destroy(p);
        return core_err_set(err, rc, "credentials chain: out of memory");
    }
    *out = p;
    return 0;
}

int aws_creds_static_new(struct core_loop *loop, const struct aws_credentials *creds,
                         struct aws_creds_provider **out, struct core_err *err)
{
    struct aws_creds_provider *p;

    if (!loop || !creds || !out || !creds->access_key_id || !creds->access_key_id[0] ||
        !creds->secret_access_key || !creds->secret_access_key[0])
        return core_err_set(err, CORE_E_INVAL,
                            "static credentials: an access key id and a secret are required");
    p = core_calloc(1, sizeof *p);
    if (!p)
        return core_err_set(err, CORE_E_NOMEM, "static credentials: out of memory");
    p->loop = loop;
    if (aws_credentials_copy(&p->cached, creds) != 0) {
        cr_destroy(p);
        return core_err_set(err, CORE_E_NOMEM, "static credentials: out of memory");
    }
    p->have_cached = 1;
    p->never_refresh = 1;
    p->locked = 1;
    p->source = AWS_CREDS_STATIC;
    p->refresh_before = CR_REFRESH_DEFAULT;
    *out = p;
    return 0;
}

int aws_creds_get(struct aws_creds_provider *p, aws_creds_fn cb, void *ud, struct core_err *err)
{
    struct cr_waiter *w;

    if (!p || !cb)
        return core_err_set(err, CORE_E_INVAL, "credentials: provider and callback required");
    if (p->dying)
        return core_err_set(err, CORE_E_STATE, "credentials: the provider is being freed");
    w = core_calloc(1, sizeof *w);
    if (!w)
        return core_err_set(err, CORE_E_NOMEM, "credentials: out of memory");
    /* Joining a fetch in flight or a pending timer needs nothing more; otherwise arm the
     * timer that answers from the cache or starts the fetch. */
    if (!p->timer && p->stage == CR_IDLE && !p->result_ready) {
        p->timer = core_loop_timer_add(p->loop, 0, cr_on_timer, p);
        if (!p->timer) {
            core_free(w);
            return core_err_set(err, CORE_E_NOMEM, "credentials: out of memory");
        }
    }
    w->cb = cb;
    w->ud = ud;
    if (p->wait_tail)
        p->wait_tail->next = w;
    else
        p->wait_head = w;
    p->wait_tail = w;
    return 0;
}

/* Unlinks every waiter of (cb, ud) from a list; returns the new last element. */
static struct cr_waiter *cr_unlink(struct cr_waiter **head, aws_creds_fn cb, void *ud)
{
    struct cr_waiter *last = NULL;

    while (*head) {
        struct cr_waiter *w = *head;
        if (w->cb == cb && w->ud == ud) {
            *head = w->next;
            core_free(w);
        } else {
            last = w;
            head = &w->next;
        }
    }
    return last;
}

void aws_creds_cancel(struct aws_creds_provider *p, aws_creds_fn cb, void *ud)
{
    if (!p)
        return;
    p->wait_tail = cr_unlink(&p->wait_head, cb, ud);
    (void)cr_unlink(&p->dlv, cb, ud);
    /* A fetch in flight goes on: its result is cached for the next caller. */
}

enum aws_creds_source aws_creds_source(const struct aws_creds_provider *p)
{
    return p ? p->source : AWS_CREDS_NONE;
}

unsigned long aws_creds_fetches(const struct aws_creds_provider *p)
{
    return p ? p->fetches : 0;
}
