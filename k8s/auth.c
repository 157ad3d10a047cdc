/*
 * k8s/auth.c — bearer tokens for the API server, per kind of authentication: none, a fixed
 * token, a token file (service-account tokens rotate), a client-go exec credential plugin, and
 * an EKS token minted from stoker's own AWS identity.
 *
 * Every k8s_auth_token call queues a waiter. A 0-delay timer (the "kick") answers from the
 * cache or starts one fetch; every waiter queued before the fetch ends gets its result.
 *
 * Invariants:
 *  - Callbacks run only from the loop (the kick timer, a pipe watch, a reap or timeout timer,
 *    the credentials provider's callback), never inside k8s_auth_token.
 *  - At most one fetch (plugin run or credentials request) is in flight (fetching != 0); the
 *    kick is not armed while one is.
 *  - The plugin never blocks the loop: its stdout and stderr are non-blocking pipes watched by
 *    the loop, bounded (AU_EXEC_OUT_MAX, first AU_EXEC_ERR_MAX bytes of stderr kept, the rest
 *    drained), and a timeout kills its whole process group. It is reaped with WNOHANG after
 *    both pipes reach EOF (a short timer retries until it has exited); only after SIGKILL
 *    (timeout, k8s_auth_free) does a blocking waitpid run, which returns at once. No zombie is
 *    left behind.
 *  - While callbacks run, the token handed to them is a private copy, so a callback may call
 *    k8s_auth_invalidate, k8s_auth_cancel, k8s_auth_token or k8s_auth_free: `alive` tells the
 *    delivery loop that the object is gone.
 *  - Tokens (cached, fixed, copies, plugin output, the JSON string holding it) are wiped with
 *    OPENSSL_cleanse before they are freed. No message holds a token or the plugin's stdout;
 *    a plugin's stderr excerpt is quoted (it is the plugin's own diagnostic).
 *  - Cache lifetimes are measured on the loop's clock: a token file is re-read when stat()
 *    shows another file, size or modification time, and at least every AU_TOKEN_FILE_RECHECK;
 *    exec credentials live until expirationTimestamp - AU_EXEC_MARGIN (AU_EXEC_DEFAULT_TTL
 *    without one); EKS tokens AU_EKS_TTL (the server accepts them for 15 minutes).
 */
#include "k8s/k8s.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define AU_TOKEN_FILE_MAX (16u * 1024u)
#define AU_TOKEN_FILE_RECHECK (60 * CORE_NS_PER_S)
#define AU_EXEC_TIMEOUT (30 * CORE_NS_PER_S)
#define AU_EXEC_TIMEOUT_S 30
#define AU_EXEC_OUT_MAX (256u * 1024u)
#define AU_EXEC_ERR_MAX 1024u
#define AU_EXEC_READS_PER_TURN 16 /* a chatty plugin cannot hold the loop */
#define AU_EXEC_MARGIN (30 * CORE_NS_PER_S)
#define AU_EXEC_DEFAULT_TTL (15 * 60 * CORE_NS_PER_S)
#define AU_EKS_TTL (10 * 60 * CORE_NS_PER_S)
#define AU_EKS_TOKEN_MAX (16u * 1024u)
#define AU_REAP_FIRST (1 * CORE_NS_PER_MS)
#define AU_REAP_MAX (100 * CORE_NS_PER_MS)
#define AU_EXEC_INFO "KUBERNETES_EXEC_INFO"

struct au_waiter {
    k8s_token_fn cb;
    void *ud;
    struct au_waiter *next;
};

/* One run of the exec plugin. */
struct au_run {
    pid_t pid;           /* 0 when no child is left to reap */
    int out_fd, err_fd;  /* read ends; -1 once at EOF and closed */
    char *out;           /* stdout (secret: it holds the token) */
    size_t out_len, out_cap;
    char err[AU_EXEC_ERR_MAX + 1]; /* first bytes of stderr */
    size_t err_len;
    int status;          /* wait status once reaped; -1 when unknown */
    struct core_timer *timeout, *reap;
    core_ns reap_delay;
};

struct k8s_auth {
    struct core_loop *loop;
    struct aws_creds_provider *creds; /* borrowed */
    enum k8s_auth_kind kind;
    char *fixed;        /* K8S_AUTH_TOKEN */
    char *token_file;   /* K8S_AUTH_TOKEN_FILE */
    char *command;      /* K8S_AUTH_EXEC */
    char *args[K8S_EXEC_MAX_ARGS];
    size_t nargs;
    char *env[K8S_EXEC_MAX_ENV];
    size_t nenv;
    char *api_version;
    char *cluster, *region; /* K8S_AUTH_EKS */

    char *token;   /* cached token, NULL when none */
    core_ns until; /* monotonic: the cached token is used before this */

    int tf_known;  /* the fingerprint below belongs to the cached token */
    dev_t tf_dev;
    ino_t tf_ino;
    off_t tf_size;
    struct timespec tf_mtime;
    core_ns tf_read_at;

    struct au_waiter *waiters;    /* waiting for the next answer, in order of asking */
    struct au_waiter *delivering; /* being answered right now */
    struct core_timer *kick;
    int fetching;
    struct au_run run;
    int *alive; /* set while callbacks run; cleared by k8s_auth_free */
};

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static void au_wipe_free(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    core_free(s);
}

static void au_drop_cache(struct k8s_auth *a)
{
    au_wipe_free(a->token);
    a->token = NULL;
    a->until = 0;
    a->tf_known = 0;
}

/* Takes ownership of token as the cached one, valid for ttl from now. */
static void au_set_cache(struct k8s_auth *a, char *token, core_ns ttl)
{
    au_wipe_free(a->token);
    a->token = token;
    a->until = core_loop_now(a->loop) + ttl;
}

/* A token goes into an Authorization header: a control character would end it early. */
static int au_token_chars_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* Answers every queued waiter with (rc, token, err). token and err are copied first: a
 * callback may invalidate the cache or free the object. */
static void au_deliver(struct k8s_auth *a, int rc, const char *token, const struct core_err *err)
{
    struct core_err e;
    char *copy = NULL;
    int alive = 1;

    core_err_clear(&e);
    if (rc == 0 && token) {
        copy = core_strdup(token);
        if (!copy)
            rc = core_err_set(&e, CORE_E_NOMEM, "kubernetes token: out of memory");
    } else if (rc != 0) {
        if (err)
            e = *err;
        else
            core_err_set(&e, rc, "kubernetes token: %s", core_strerror(rc));
        e.code = rc;
    }
    a->delivering = a->waiters;
    a->waiters = NULL;
    a->alive = &alive;
    while (a->delivering) {
        struct au_waiter *w = a->delivering;
        k8s_token_fn cb = w->cb;
        void *ud = w->ud;
        a->delivering = w->next;
        core_free(w);
        cb(ud, rc, rc ? NULL : copy, rc ? &e : NULL);
        if (!alive)
            goto done;
    }
    a->alive = NULL;
done:
    au_wipe_free(copy);
}

/* ------------------------------------------------------------------------------------------ */
/* Token file                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static int au_same_file(const struct k8s_auth *a, const struct stat *st)
{
    return a->tf_known && st->st_dev == a->tf_dev && st->st_ino == a->tf_ino &&
           st->st_size == a->tf_size && st->st_mtim.tv_sec == a->tf_mtime.tv_sec &&
           st->st_mtim.tv_nsec == a->tf_mtime.tv_nsec;
}

/* Reads the token file into the cache. On failure the cache is dropped: a token file that
 * became unreadable or empty is reported, not papered over. */
static int au_token_file_read(struct k8s_auth *a, struct core_err *err)
{
    const char *path = a->token_file;
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int fd, rc = 0;

    au_drop_cache(a);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return core_err_set(err, e == ENOENT ? CORE_E_NOTFOUND : -e,
                            "token file %s: cannot open: %s", path, strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        rc = core_err_set(err, -e, "token file %s: cannot stat: %s", path, strerror(e));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = core_err_set(err, CORE_E_INVAL, "token file %s: expected a regular file", path);
        goto done;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > AU_TOKEN_FILE_MAX) {
        rc = core_err_set(err, CORE_E_TOOBIG,
                          "token file %s: %lld bytes, more than the limit of %u", path,
                          (long long)st.st_size, AU_TOKEN_FILE_MAX);
        goto done;
    }
    buf = core_malloc(AU_TOKEN_FILE_MAX + 2);
    if (!buf) {
        rc = core_err_set(err, CORE_E_NOMEM, "token file %s: out of memory", path);
        goto done;
    }
    /* Read one byte past the limit so a file that grew after fstat is still caught. */
    while (len <= AU_TOKEN_FILE_MAX) {
        ssize_t n = read(fd, buf + len, AU_TOKEN_FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            rc = core_err_set(err, -e, "token file %s: read failed: %s", path, strerror(e));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > AU_TOKEN_FILE_MAX) {
        rc = core_err_set(err, CORE_E_TOOBIG, "token file %s: more than the limit of %u bytes",
                          path, AU_TOKEN_FILE_MAX);
        goto done;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t'))
        len--;
    buf[len] = '\0';
    if (len == 0) {
        rc = core_err_set(err, CORE_E_AUTH, "token file %s: the file is empty", path);
        goto done;
    }
    if (!au_token_chars_ok(buf, len)) {
        rc = core_err_set(err, CORE_E_PARSE,
                          "token file %s: holds a control character (expected one token)", path);
        goto done;
    }
    au_set_cache(a, buf, AU_TOKEN_FILE_RECHECK);
    buf = NULL;
    a->tf_known = 1;
    a->tf_dev = st.st_dev;
    a->tf_ino = st.st_ino;
    a->tf_size = st.st_size;
    a->tf_mtime = st.st_mtim;
    a->tf_read_at = core_loop_now(a->loop);
done:
    if (buf) {
        OPENSSL_cleanse(buf, AU_TOKEN_FILE_MAX + 2);
        core_free(buf);
    }
    close(fd);
    return rc;
}

/* Leaves a current token in the cache: the cached one when the file looks unchanged and was
 * read less than AU_TOKEN_FILE_RECHECK ago, else a fresh read. */
static int au_token_file(struct k8s_auth *a, struct core_err *err)
{
    struct stat st;

    if (stat(a->token_file, &st) != 0) {
        int e = errno;
        au_drop_cache(a);
        return core_err_set(err, e == ENOENT ? CORE_E_NOTFOUND : -e, "token file %s: %s",
                            a->token_file, strerror(e));
    }
    if (a->token && au_same_file(a, &st) &&
        core_loop_now(a->loop) - a->tf_read_at < AU_TOKEN_FILE_RECHECK)
        return 0;
    return au_token_file_read(a, err);
}

/* ------------------------------------------------------------------------------------------ */
/* Exec plugin                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* The first stderr bytes, printable, for a message: "" when the plugin said nothing. */
static void au_stderr_excerpt(const struct au_run *r, char *out, size_t outsz)
{
    size_t n = 0, start = 0, end = r->err_len;

    while (start < end && (r->err[start] == ' ' || r->err[start] == '\n' || r->err[start] == '\t' ||
                           r->err[start] == '\r'))
        start++;
    while (end > start && (r->err[end - 1] == ' ' || r->err[end - 1] == '\n' ||
                           r->err[end - 1] == '\t' || r->err[end - 1] == '\r'))
        end--;
    if (start == end || outsz < 16) {
        if (outsz)
            out[0] = '\0';
        return;
    }
    n = (size_t)snprintf(out, outsz, "; stderr: ");
    for (size_t i = start; i < end && n + 1 < outsz; i++) {
        unsigned char c = (unsigned char)r->err[i];
        out[n++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    out[n] = '\0';
}

/* Ends a run: kills the process group and reaps the child when one is left (SIGKILL makes the
 * blocking waitpid return at once), stops the watches and timers, closes the pipes and wipes
 * the output. */
static void au_run_cleanup(struct k8s_auth *a)
{
    struct au_run *r = &a->run;

    if (r->pid > 0) {
        if (kill(-r->pid, SIGKILL) != 0)
            kill(r->pid, SIGKILL);
        while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        r->pid = 0;
    }
    if (r->out_fd >= 0) {
        core_loop_unwatch_fd(a->loop, r->out_fd);
        close(r->out_fd);
    }
    if (r->err_fd >= 0) {
        core_loop_unwatch_fd(a->loop, r->err_fd);
        close(r->err_fd);
    }
    core_loop_timer_cancel(a->loop, r->timeout);
    core_loop_timer_cancel(a->loop, r->reap);
    if (r->out) {
        OPENSSL_cleanse(r->out, r->out_cap);
        core_free(r->out);
    }
    OPENSSL_cleanse(r->err, sizeof r->err);
    memset(r, 0, sizeof *r);
    r->out_fd = r->err_fd = -1;
}

/* Ends the fetch with an error built by the caller. Last thing the caller does with a. */
static void au_exec_fail(struct k8s_auth *a, const struct core_err *e)
{
    au_run_cleanup(a);
    a->fetching = 0;
    au_deliver(a, e->code, NULL, e);
}

/* Decodes the plugin's ExecCredential: *token (a heap string) and *ttl on success. */
static int au_exec_parse(struct k8s_auth *a, char **token, core_ns *ttl, struct core_err *err)
{
    const struct au_run *r = &a->run;
    json_error_t je;
    json_t *root = NULL, *status, *tok, *v;
    const char *s;
    char *copy = NULL;
    int rc = 0;

    root = json_loadb(r->out ? r->out : "", r->out_len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        /* je.text may quote the input, which may hold the token: only the position is said. */
        rc = core_err_set(err, CORE_E_PARSE,
                          "exec plugin %s: expected an ExecCredential JSON object on stdout, got "
                          "%zu bytes that are not JSON (line %d column %d)",
                          a->command, r->out_len, je.line, je.column);
        goto done;
    }
    if (!json_is_object(root)) {
        rc = core_err_set(err, CORE_E_PARSE,
                          "exec plugin %s: expected an ExecCredential JSON object on stdout, got "
                          "another JSON value",
                          a->command);
        goto done;
    }
    s = json_string_value(json_object_get(root, "kind"));
    if (!s || strcmp(s, "ExecCredential") != 0) {
        rc = core_err_set(err, CORE_E_PARSE, "exec plugin %s: kind: expected ExecCredential",
                          a->command);
        goto done;
    }
    s = json_string_value(json_object_get(root, "apiVersion"));
    if (!s || strcmp(s, a->api_version) != 0) {
        /* The answer is not quoted: nothing a plugin printed goes into a message. */
        rc = core_err_set(err, CORE_E_PARSE,
                          "exec plugin %s: apiVersion: expected \"%s\" (the version asked for), "
                          "the answer has %s",
                          a->command, a->api_version, s ? "another" : "none");
        goto done;
    }
    status = json_object_get(root, "status");
    if (!json_is_object(status)) {
        rc = core_err_set(err, CORE_E_PARSE, "exec plugin %s: status: expected an object",
                          a->command);
        goto done;
    }
    if (json_object_get(status, "clientCertificateData") ||
        json_object_get(status, "clientKeyData")) {
        rc = core_err_set(err, CORE_E_UNSUPPORTED,
                          "exec plugin %s: status.clientCertificateData/clientKeyData: client "
                          "certificates from exec plugins are not supported (expected "
                          "status.token)",
                          a->command);
        goto done;
    }
    tok = json_object_get(status, "token");
    if (!json_is_string(tok) || json_string_length(tok) == 0) {
        rc = core_err_set(err, CORE_E_AUTH,
                          "exec plugin %s: status.token: expected a non-empty string",
                          a->command);
        goto done;
    }
    if (!au_token_chars_ok(json_string_value(tok), json_string_length(tok))) {
        rc = core_err_set(err, CORE_E_PARSE,
                          "exec plugin %s: status.token: holds a control character", a->command);
        goto done;
    }
    *ttl = AU_EXEC_DEFAULT_TTL;
    v = json_object_get(status, "expirationTimestamp");
    if (v && !json_is_null(v)) {
        core_ns exp = 0, wall = core_clock_wall(core_loop_clock(a->loop));
        if (!json_is_string(v) || core_time_parse_rfc3339(json_string_value(v), &exp) != 0) {
            rc = core_err_set(err, CORE_E_PARSE,
                              "exec plugin %s: status.expirationTimestamp: expected an RFC 3339 "
                              "time",
                              a->command);
            goto done;
        }
        /* Used for this answer at least; cached only while further than the margin. */
        *ttl = exp - wall - AU_EXEC_MARGIN;
        if (*ttl < 0)
            *ttl = 0;
    }
    copy = core_strndup(json_string_value(tok), json_string_length(tok));
    if (!copy) {
        rc = core_err_set(err, CORE_E_NOMEM, "exec plugin %s: out of memory", a->command);
        goto done;
    }
    *token = copy;
done:
    /* jansson's copy of the token is heap memory it owns; wipe it before the decref. */
    tok = root ? json_object_get(json_object_get(root, "status"), "token") : NULL;
    if (json_is_string(tok))
        OPENSSL_cleanse((char *)json_string_value(tok), json_string_length(tok));
    json_decref(root);
    return rc;
}

/* The child is reaped and both pipes are closed: judge the exit status and the output. */
static void au_exec_complete(struct k8s_auth *a)
{
    struct au_run *r = &a->run;
    struct core_err e;
    char excerpt[AU_EXEC_ERR_MAX + 16];
    char *token = NULL;
    core_ns ttl = 0;
    int rc;

    core_err_clear(&e);
    au_stderr_excerpt(r, excerpt, sizeof excerpt);
    if (r->status != -1 && WIFSIGNALED(r->status)) {
        rc = core_err_set(&e, CORE_E_AUTH, "exec plugin %s: killed by signal %d%s", a->command,
                          WTERMSIG(r->status), excerpt);
    } else if (r->status != -1 && WIFEXITED(r->status) && WEXITSTATUS(r->status) != 0) {
        rc = core_err_set(&e, CORE_E_AUTH, "exec plugin %s: exited with status %d%s",
                          a->command, WEXITSTATUS(r->status), excerpt);
    } else {
        rc = au_exec_parse(a, &token, &ttl, &e);
        if (rc && excerpt[0]) {
            /* The plugin's own words usually say why its output is wrong. */
            size_t n = strlen(e.message);
            snprintf(e.message + n, sizeof e.message - n, "%s", excerpt);
        }
    }
    au_run_cleanup(a);
    a->fetching = 0;
    if (rc) {
        au_deliver(a, rc, NULL, &e);
        return;
    }
    au_set_cache(a, token, ttl);
    au_deliver(a, 0, a->token, NULL);
}

static void au_exec_reap(void *ud);

/* Both pipes are at EOF: reap the child if it has exited, else look again shortly. */
static void au_exec_try_reap(struct k8s_auth *a)
{
    struct au_run *r = &a->run;
    struct core_err e;
    int st = 0;
    pid_t p = waitpid(r->pid, &st, WNOHANG);

    if (p == r->pid || (p < 0 && errno == ECHILD)) {
        /* ECHILD: someone else reaped it (SIGCHLD ignored); the output still decides. */
        r->status = p == r->pid ? st : -1;
        r->pid = 0;
        au_exec_complete(a);
        return;
    }
    r->reap_delay = r->reap_delay ? r->reap_delay * 2 : AU_REAP_FIRST;
    if (r->reap_delay > AU_REAP_MAX)
        r->reap_delay = AU_REAP_MAX;
    r->reap = core_loop_timer_add(a->loop, r->reap_delay, au_exec_reap, a);
    if (!r->reap) {
        core_err_set(&e, CORE_E_NOMEM, "exec plugin %s: out of memory", a->command);
        au_exec_fail(a, &e);
    }
}

static void au_exec_reap(void *ud)
{
    struct k8s_auth *a = ud;
    a->run.reap = NULL;
    au_exec_try_reap(a);
}

static void au_exec_timeout(void *ud)
{
    struct k8s_auth *a = ud;
    struct core_err e;
    char excerpt[AU_EXEC_ERR_MAX + 16];

    a->run.timeout = NULL;
    au_stderr_excerpt(&a->run, excerpt, sizeof excerpt);
    core_err_set(&e, CORE_E_TIMEOUT, "exec plugin %s: no credential within %d s, killed it%s",
                 a->command, AU_EXEC_TIMEOUT_S, excerpt);
    au_exec_fail(a, &e);
}

/* Appends stdout bytes, growing by hand so no stale copy of a token is left in freed memory. */
static int au_out_append(struct au_run *r, const char *p, size_t n)
{
    if (n > AU_EXEC_OUT_MAX - r->out_len)
        return CORE_E_TOOBIG;
    if (r->out_len + n + 1 > r->out_cap) {
        size_t cap = r->out_cap ? r->out_cap : 4096;
        char *nb;
        while (cap < r->out_len + n + 1)
            cap *= 2;
        nb = core_malloc(cap);
        if (!nb)
            return CORE_E_NOMEM;
        if (r->out) {
            memcpy(nb, r->out, r->out_len);
            OPENSSL_cleanse(r->out, r->out_cap);
            core_free(r->out);
        }
        r->out = nb;
        r->out_cap = cap;
    }
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
    r->out[r->out_len] = '\0';
    return 0;
}

static void au_exec_on_fd(void *ud, int fd, int events)
{
    struct k8s_auth *a = ud;
    struct au_run *r = &a->run;
    struct core_err e;
    char chunk[4096];
    int rc = 0, eof = 0;

    (void)events;
    core_err_clear(&e);
    for (int i = 0; i < AU_EXEC_READS_PER_TURN; i++) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            eof = 1; /* a read error ends this pipe as EOF does */
            break;
        }
        if (fd == r->out_fd) {
            rc = au_out_append(r, chunk, (size_t)n);
            if (rc == CORE_E_TOOBIG) {
                core_err_set(&e, rc, "exec plugin %s: more than %u bytes on stdout", a->command,
                             AU_EXEC_OUT_MAX);
                break;
            }
            if (rc) {
                core_err_set(&e, rc, "exec plugin %s: out of memory", a->command);
                break;
            }
        } else if (r->err_len < AU_EXEC_ERR_MAX) {
            size_t take = (size_t)n < AU_EXEC_ERR_MAX - r->err_len ? (size_t)n
                                                                   : AU_EXEC_ERR_MAX - r->err_len;
            memcpy(r->err + r->err_len, chunk, take);
            r->err_len += take;
        }
    }
    OPENSSL_cleanse(chunk, sizeof chunk);
    if (rc) {
        au_exec_fail(a, &e);
        return;
    }
    if (eof) {
        core_loop_unwatch_fd(a->loop, fd);
        close(fd);
        if (fd == r->out_fd)
            r->out_fd = -1;
        else
            r->err_fd = -1;
        if (r->out_fd < 0 && r->err_fd < 0)
            au_exec_try_reap(a);
    }
}

/* Builds the plugin's environment: the process environment without the names the config sets,
 * then the config's entries, then KUBERNETES_EXEC_INFO. *envp is an array of borrowed pointers
 * (but *info, which the caller frees) ending with NULL. */
static int au_exec_env(struct k8s_auth *a, char ***envp, char **info, struct core_err *err)
{
    json_t *spec = NULL;
    char *json = NULL, **v = NULL;
    struct core_buf b;
    size_t n = 0, k = 0;
    int rc = 0;

    core_buf_init(&b, 4096);
    spec = json_pack("{s:s, s:s, s:{s:b}}", "apiVersion", a->api_version, "kind",
                     "ExecCredential", "spec", "interactive", 0);
    json = spec ? json_dumps(spec, JSON_COMPACT) : NULL;
    if (!json || core_buf_appendf(&b, "%s=%s", AU_EXEC_INFO, json) != 0 ||
        core_buf_steal(&b, info, NULL) != 0) {
        rc = core_err_set(err, CORE_E_NOMEM, "exec plugin %s: out of memory", a->command);
        goto done;
    }
    while (environ && environ[n])
        n++;
    v = core_calloc(n + a->nenv + 2, sizeof *v);
    if (!v) {
        rc = core_err_set(err, CORE_E_NOMEM, "exec plugin %s: out of memory", a->command);
        core_free(*info);
        *info = NULL;
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        int overridden = nl == strlen(AU_EXEC_INFO) && strncmp(environ[i], AU_EXEC_INFO, nl) == 0;
        for (size_t j = 0; j < a->nenv && !overridden; j++)
            overridden = strncmp(a->env[j], environ[i], nl) == 0 && a->env[j][nl] == '=';
        if (!overridden)
            v[k++] = environ[i];
    }
    for (size_t j = 0; j < a->nenv; j++)
        v[k++] = a->env[j];
    v[k++] = *info;
    v[k] = NULL;
    *envp = v;
done:
    core_buf_cleanup(&b);
    free(json); /* jansson's allocation */
    json_decref(spec);
    return rc;
}

static int au_exec_start(struct k8s_auth *a, struct core_err *err)
{
    struct au_run *r = &a->run;
    int outp[2] = {-1, -1}, errp[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int fa_ok = 0, at_ok = 0, e, rc = 0;
    char *argv[K8S_EXEC_MAX_ARGS + 2];
    char **envp = NULL, *info = NULL;
    sigset_t none, dflt;
    pid_t pid = 0;

    if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        e = errno;
        rc = core_err_set(err, -e, "exec plugin %s: pipe: %s", a->command, strerror(e));
        goto done;
    }
    /* Our ends never block; the child's stay blocking, as programs expect of stdout. */
    if (fcntl(outp[0], F_SETFL, O_NONBLOCK) != 0 || fcntl(errp[0], F_SETFL, O_NONBLOCK) != 0) {
        e = errno;
        rc = core_err_set(err, -e, "exec plugin %s: fcntl: %s", a->command, strerror(e));
        goto done;
    }
    rc = au_exec_env(a, &envp, &info, err);
    if (rc)
        goto done;
    e = posix_spawn_file_actions_init(&fa);
    fa_ok = e == 0;
    if (!e)
        e = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!e)
        e = posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
    if (!e)
        e = posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    /* Nothing else of ours (curl's sockets, the signalfd) leaks into the plugin. */
    if (!e)
        e = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (!e) {
        e = posix_spawnattr_init(&at);
        at_ok = e == 0;
    }
    /* Its own process group, so a timeout kills what the plugin started too; no signal
     * blocked or ignored because the loop's thread blocks SIGTERM/SIGINT for its signalfd. */
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGPIPE);
    sigaddset(&dflt, SIGTERM);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGHUP);
    sigaddset(&dflt, SIGCHLD);
    if (!e)
        e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);
    if (!e)
        e = posix_spawnattr_setpgroup(&at, 0);
    if (!e)
        e = posix_spawnattr_setsigmask(&at, &none);
    if (!e)
        e = posix_spawnattr_setsigdefault(&at, &dflt);
    if (e) {
        rc = core_err_set(err, -e, "exec plugin %s: cannot prepare: %s", a->command, strerror(e));
        goto done;
    }
    argv[0] = a->command;
    for (size_t i = 0; i < a->nargs; i++)
        argv[i + 1] = a->args[i];
    argv[a->nargs + 1] = NULL;
    /* A bare name is looked up in PATH, as kubectl does; a path is run as it is. */
    e = strchr(a->command, '/') ? posix_spawn(&pid, a->command, &fa, &at, argv, envp)
                                : posix_spawnp(&pid, a->command, &fa, &at, argv, envp);
    if (e) {
        rc = core_err_set(err, e == ENOENT ? CORE_E_NOTFOUND : -e,
                          "exec plugin %s: cannot start: %s", a->command, strerror(e));
        goto done;
    }
    close(outp[1]);
    close(errp[1]);
    outp[1] = errp[1] = -1;
    r->pid = pid;
    r->out_fd = outp[0];
    r->err_fd = errp[0];
    r->status = -1;
    outp[0] = errp[0] = -1;
    if (core_loop_watch_fd(a->loop, r->out_fd, CORE_LOOP_READ, au_exec_on_fd, a) != 0 ||
        core_loop_watch_fd(a->loop, r->err_fd, CORE_LOOP_READ, au_exec_on_fd, a) != 0) {
        au_run_cleanup(a);
        rc = core_err_set(err, CORE_E_TOOBIG,
                          "exec plugin %s: the event loop watches too many descriptors",
                          a->command);
        goto done;
    }
    r->timeout = core_loop_timer_add(a->loop, AU_EXEC_TIMEOUT, au_exec_timeout, a);
    if (!r->timeout) {
        au_run_cleanup(a);
        rc = core_err_set(err, CORE_E_NOMEM, "exec plugin %s: out of memory", a->command);
        goto done;
    }
    a->fetching = 1;
done:
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (at_ok)
        posix_spawnattr_destroy(&at);
    for (int i = 0; i < 2; i++) {
        if (outp[i] >= 0)
            close(outp[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    core_free(envp);
    au_wipe_free(info);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* EKS                                                                                         */
/* ------------------------------------------------------------------------------------------ */

static void au_on_creds(void *ud, int rc, const struct aws_credentials *creds,
                        const struct core_err *cerr)
{
    struct k8s_auth *a = ud;
    struct core_err e;
    struct core_buf b;
    char *token = NULL;

    a->fetching = 0;
    core_err_clear(&e);
    core_buf_init(&b, AU_EKS_TOKEN_MAX);
    if (rc) {
        if (cerr)
            e = *cerr;
        core_err_prefix(&e, "EKS token for cluster %s: AWS credentials", a->cluster);
        e.code = rc;
        goto done;
    }
    /* Room reserved up front so growing never leaves a copy of the token behind. */
    rc = core_buf_reserve(&b, AU_EKS_TOKEN_MAX / 2);
    if (!rc)
        rc = aws_eks_token(creds, a->region, a->cluster,
                           core_clock_wall(core_loop_clock(a->loop)), NULL, &b, &e);
    if (!rc)
        rc = core_buf_steal(&b, &token, NULL);
    if (rc) {
        if (!e.code)
            core_err_set(&e, rc, "%s", core_strerror(rc));
        core_err_prefix(&e, "EKS token for cluster %s", a->cluster);
        e.code = rc;
        goto done;
    }
    au_set_cache(a, token, AU_EKS_TTL);
done:
    if (b.data)
        OPENSSL_cleanse(b.data, b.cap);
    core_buf_cleanup(&b);
    au_deliver(a, rc, rc ? NULL : a->token, rc ? &e : NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Asking                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static void au_kick(void *ud)
{
    struct k8s_auth *a = ud;
    struct core_err e;
    int rc = 0;

    a->kick = NULL;
    core_err_clear(&e);
    if (!a->waiters || a->fetching)
        return; /* the fetch in flight answers them */
    switch (a->kind) {
    case K8S_AUTH_NONE:
        au_deliver(a, 0, NULL, NULL);
        return;
    case K8S_AUTH_TOKEN:
        au_deliver(a, 0, a->fixed, NULL);
        return;
    case K8S_AUTH_TOKEN_FILE:
        rc = au_token_file(a, &e);
        au_deliver(a, rc, rc ? NULL : a->token, &e);
        return;
    case K8S_AUTH_EXEC:
    case K8S_AUTH_EKS:
        if (a->token && core_loop_now(a->loop) < a->until) {
            au_deliver(a, 0, a->token, NULL);
            return;
        }
        if (a->kind == K8S_AUTH_EXEC) {
            rc = au_exec_start(a, &e);
        } else {
            a->fetching = 1; /* before the call: its answer never comes from inside it */
            rc = aws_creds_get(a->creds, au_on_creds, a, &e);
            if (rc) {
                a->fetching = 0;
                core_err_prefix(&e, "EKS token for cluster %s", a->cluster);
            }
        }
        if (rc)
            au_deliver(a, rc, NULL, &e);
        return;
    }
}

int k8s_auth_token(struct k8s_auth *a, k8s_token_fn cb, void *ud, struct core_err *err)
{
    struct au_waiter *w, **pp;

    if (!a || !cb)
        return core_err_set(err, CORE_E_INVAL, "kubernetes token: missing argument");
    w = core_calloc(1, sizeof *w);
    if (!w)
        return core_err_set(err, CORE_E_NOMEM, "kubernetes token: out of memory");
    if (!a->fetching && !a->kick) {
        a->kick = core_loop_timer_add(a->loop, 0, au_kick, a);
        if (!a->kick) {
            core_free(w);
            return core_err_set(err, CORE_E_NOMEM, "kubernetes token: out of memory");
        }
    }
    w->cb = cb;
    w->ud = ud;
    for (pp = &a->waiters; *pp; pp = &(*pp)->next)
        ;
    *pp = w;
    return 0;
}

static void au_remove(struct au_waiter **pp, k8s_token_fn cb, void *ud)
{
    while (*pp) {
        struct au_waiter *w = *pp;
        if (w->cb == cb && w->ud == ud) {
            *pp = w->next;
            core_free(w);
        } else {
            pp = &w->next;
        }
    }
}

void k8s_auth_cancel(struct k8s_auth *a, k8s_token_fn cb, void *ud)
{
    if (!a)
        return;
    au_remove(&a->waiters, cb, ud);
    au_remove(&a->delivering, cb, ud);
}

void k8s_auth_invalidate(struct k8s_auth *a)
{
    if (a)
        au_drop_cache(a);
}

/* ------------------------------------------------------------------------------------------ */
/* Life cycle                                                                                  */
/* ------------------------------------------------------------------------------------------ */

static void au_free_list(struct au_waiter *w)
{
    while (w) {
        struct au_waiter *next = w->next;
        core_free(w);
        w = next;
    }
}

void k8s_auth_free(struct k8s_auth *a)
{
    if (!a)
        return;
    if (a->alive)
        *a->alive = 0;
    core_loop_timer_cancel(a->loop, a->kick);
    if (a->creds)
        aws_creds_cancel(a->creds, au_on_creds, a);
    au_run_cleanup(a);
    au_free_list(a->waiters);
    au_free_list(a->delivering);
    au_drop_cache(a);
    au_wipe_free(a->fixed);
    core_free(a->token_file);
    core_free(a->command);
    for (size_t i = 0; i < a->nargs; i++)
        core_free(a->args[i]);
    for (size_t i = 0; i < a->nenv; i++)
        au_wipe_free(a->env[i]);
    core_free(a->api_version);
    core_free(a->cluster);
    core_free(a->region);
    core_free(a);
}

/* A copy of s, or 0 with *out NULL when s is NULL; CORE_E_NOMEM otherwise. */
static int au_dup(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = core_strdup(s);
    return *out ? 0 : CORE_E_NOMEM;
}

int k8s_auth_new(struct core_loop *loop, const struct k8s_config *cfg,
                 struct aws_creds_provider *creds, struct k8s_auth **out, struct core_err *err)
{
    struct k8s_auth *a = NULL;
    int rc = 0;

    if (!loop || !cfg || !out)
        return core_err_set(err, CORE_E_INVAL, "kubernetes authentication: missing argument");
    switch (cfg->auth) {
    case K8S_AUTH_NONE:
        break;
    case K8S_AUTH_TOKEN:
        if (!cfg->token || !*cfg->token)
            return core_err_set(err, CORE_E_INVAL,
                                "kubernetes authentication: token: expected a token");
        break;
    case K8S_AUTH_TOKEN_FILE:
        if (!cfg->token_file || !*cfg->token_file)
            return core_err_set(err, CORE_E_INVAL,
                                "kubernetes authentication: token_file: expected a path");
        break;
    case K8S_AUTH_EXEC:
        if (!cfg->exec_command || !*cfg->exec_command || !cfg->exec_api_version ||
            cfg->exec_nargs > K8S_EXEC_MAX_ARGS || cfg->exec_nenv > K8S_EXEC_MAX_ENV)
            return core_err_set(err, CORE_E_INVAL,
                                "kubernetes authentication: exec: expected a command, an "
                                "apiVersion, at most %d arguments and %d variables",
                                K8S_EXEC_MAX_ARGS, K8S_EXEC_MAX_ENV);
        for (size_t i = 0; i < cfg->exec_nenv; i++)
            if (!cfg->exec_env[i] || !strchr(cfg->exec_env[i], '=') || cfg->exec_env[i][0] == '=')
                return core_err_set(err, CORE_E_INVAL,
                                    "kubernetes authentication: exec env[%zu]: expected NAME=value",
                                    i);
        for (size_t i = 0; i < cfg->exec_nargs; i++)
            if (!cfg->exec_args[i])
                return core_err_set(err, CORE_E_INVAL,
                                    "kubernetes authentication: exec args[%zu]: missing", i);
        break;
    case K8S_AUTH_EKS:
        if (!creds || !cfg->eks_cluster || !*cfg->eks_cluster || !cfg->eks_region ||
            !*cfg->eks_region)
            return core_err_set(err, CORE_E_INVAL,
                                "kubernetes authentication: EKS: expected AWS credentials, a "
                                "cluster name and a region");
        break;
    default:
        return core_err_set(err, CORE_E_INVAL, "kubernetes authentication: unknown kind %d",
                            (int)cfg->auth);
    }
    a = core_calloc(1, sizeof *a);
    if (!a)
        return core_err_set(err, CORE_E_NOMEM, "kubernetes authentication: out of memory");
    a->loop = loop;
    a->creds = creds;
    a->kind = cfg->auth;
    a->run.out_fd = a->run.err_fd = -1;
    switch (cfg->auth) {
    case K8S_AUTH_TOKEN:
        rc = au_dup(cfg->token, &a->fixed);
        break;
    case K8S_AUTH_TOKEN_FILE:
        rc = au_dup(cfg->token_file, &a->token_file);
        break;
    case K8S_AUTH_EXEC:
        rc = au_dup(cfg->exec_command, &a->command);
        if (!rc)
            rc = au_dup(cfg->exec_api_version, &a->api_version);
        for (size_t i = 0; !rc && i < cfg->exec_nargs; i++) {
            rc = au_dup(cfg->exec_args[i], &a->args[i]);
            a->nargs = i + 1;
        }
        for (size_t i = 0; !rc && i < cfg->exec_nenv; i++) {
            rc = au_dup(cfg->exec_env[i], &a->env[i]);
            a->nenv = i + 1;
        }
        break;
    case K8S_AUTH_EKS:
        rc = au_dup(cfg->eks_cluster, &a->cluster);
        if (!rc)
            rc = au_dup(cfg->eks_region, &a->region);
        break;
    default:
        break;
    }
    if (rc) {
        k8s_auth_free(a);
        return core_err_set(err, rc, "kubernetes authentication: out of memory");
    }
    *out = a;
    return 0;
}
