/*
 * aws/client.c — the request pipeline shared by every AWS service: per-action rate limiting,
 * credentials, SigV4, the transport, decoding, error classification, and retries.
 *
 * A call moves through: RATE (waiting for a token of its action's bucket) → CREDS (waiting for
 * credentials) → SENT (HTTP in flight, with its own deadline timer) → either the callback, or
 * BACKOFF (a jittered timer) and round again.
 *
 * Invariants:
 *  - A call's callback runs exactly once: from the loop, or from aws_client_free with
 *    CORE_E_CANCELLED; freeing also cancels every timer, HTTP exchange and credentials wait.
 *  - Query answers are fed to the XML parser piece by piece as they arrive; JSON answers are
 *    collected up to max_response. Nothing larger is accepted.
 *  - The retry quota only shrinks by retries and grows by successes, never above its start, so
 *    a failing region cannot turn into a retry storm.
 *  - No secret reaches an error message: messages carry service, action, code, the service's
 *    own message, HTTP status and request id.
 */
#include "aws/aws.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define CLIENT_DEFAULT_ATTEMPTS 5u
#define CLIENT_DEFAULT_BASE (100 * CORE_NS_PER_MS)
#define CLIENT_DEFAULT_THROTTLE_BASE (500 * CORE_NS_PER_MS)
#define CLIENT_DEFAULT_CAP (20 * CORE_NS_PER_S)
#define CLIENT_DEFAULT_NOT_FOUND (120 * CORE_NS_PER_S)
#define CLIENT_DEFAULT_QUOTA 500u
#define CLIENT_DEFAULT_MAX_RESPONSE (16u * 1024u * 1024u)
#define CLIENT_DEFAULT_TIMEOUT (30 * CORE_NS_PER_S)
#define CLIENT_RETRY_COST 5.0
#define CLIENT_TIMEOUT_COST 10.0
#define CLIENT_ACTION_MAX 128
#define CLIENT_MAX_HEADERS 12

/* EC2's documented shape: non-mutating requests from a bucket of 100 refilling at 20/s,
 * launches and state changes from smaller, slower buckets. Callers may replace the table. */
static const struct aws_rate default_rates[] = {
    {"*", 20.0, 100},
    {"RunInstances", 5.0, 50},
    {"CreateFleet", 5.0, 50},
    {"StartInstances", 5.0, 100},
    {"StopInstances", 5.0, 100},
    {"TerminateInstances", 5.0, 100},
    {"CreateTags", 10.0, 100},
    {"ModifyInstanceAttribute", 10.0, 100},
    {"CreateLaunchTemplate", 5.0, 50},
    {"DeleteLaunchTemplate", 5.0, 50},
};

struct rate_bucket {
    double qps;
    double burst;
    double tokens;
    core_ns last;
};

struct action_stat {
    char service[8];
    char action[CLIENT_ACTION_MAX];
    unsigned long calls, attempts, throttled, errors;
};

enum call_proto { PROTO_QUERY, PROTO_JSON };

struct call {
    struct aws_client *c;
    struct call *prev, *next;
    enum aws_service svc;
    enum call_proto proto;
    unsigned flags;
    char action[CLIENT_ACTION_MAX];
    char target[CLIENT_ACTION_MAX + 32]; /* JSON: X-Amz-Target */
    char *body;
    size_t body_len;
    aws_query_fn qcb;
    aws_json_fn jcb;
    void *ud;
    struct rate_bucket *bucket; /* NULL = unlimited */
    int have_token;             /* this attempt's token is taken */
    struct action_stat *stat;

    unsigned attempt;
    core_ns first_sent;
    struct core_timer *timer;   /* rate wait, backoff, or attempt deadline */
    int waiting_creds;
    int http_active;
    uint64_t http_id;
    int timed_out;

    /* per attempt */
    struct core_http_request req;
    char *hdr_store[CLIENT_MAX_HEADERS];
    const char *hdrs[CLIENT_MAX_HEADERS];
    size_t nhdrs;
    struct aws_xml_parser *xp;
    int xml_failed;
    struct core_buf acc; /* JSON body */
    size_t received;
};

struct aws_client {
    struct core_loop *loop;
    struct core_http_transport *t;
    struct aws_creds_provider *creds;
    const struct aws_config *cfg;
    struct aws_client_opts opts;
    struct aws_rate *rates;
    size_t nrates;
    char host[AWS_SVC_COUNT][AWS_URL_MAX];
    char path[AWS_SVC_COUNT][AWS_URL_MAX];
    struct core_map *buckets;
    struct core_map *stats;
    double quota;
    unsigned long quota_refusals;
    uint64_t rng;
    struct call *calls;
    int freeing; /* aws_client_free is completing calls: refuse new ones */
};

static void call_next_step(struct call *k);
static void call_finish(struct call *k, int rc, const struct aws_xml_node *root, json_t *json,
                        const struct core_err *err);
static void call_send(struct call *k, const struct aws_credentials *creds);
static void on_creds(void *ud, int rc, const struct aws_credentials *creds,
                     const struct core_err *err);

/* ---- classification ------------------------------------------------------------------------ */

int aws_error_is_throttling(const char *code)
{
    static const char *const codes[] = {
        "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled",
        "RequestThrottledException", "TooManyRequestsException", "SlowDown",
        "EC2ThrottledException", "PriorRequestNotComplete", "BandwidthLimitExceeded",
        "ProvisionedThroughputExceededException", "TransactionInProgressException"};
    if (!code)
        return 0;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

int aws_error_is_capacity(const char *code)
{
    static const char *const codes[] = {
        "InsufficientInstanceCapacity", "MaxSpotInstanceCountExceeded", "VcpuLimitExceeded",
        "UnfulfillableCapacity", "Unsupported", "InsufficientFreeAddressesInSubnet",
        "MaxFleetCountExceeded", "InsufficientCapacity", "SpotMaxPriceTooLow",
        "InsufficientHostCapacity", "InsufficientReservedInstanceCapacity"};
    if (!code)
        return 0;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

static int error_is_transient(const char *code)
{
    static const char *const codes[] = {"InternalError", "InternalFailure", "ServiceUnavailable",
                                        "Unavailable", "InternalServerError",
                                        "RequestTimeout", "RequestTimeoutException"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

static int error_is_auth(const char *code)
{
    static const char *const codes[] = {
        "AuthFailure", "UnauthorizedOperation", "InvalidClientTokenId", "SignatureDoesNotMatch",
        "ExpiredToken", "ExpiredTokenException", "AccessDenied", "AccessDeniedException",
        "UnrecognizedClientException", "IncompleteSignature", "MissingAuthenticationToken",
        "InvalidIdentityToken", "RequestExpired"};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return 0;
}

static int error_is_not_found(const char *code)
{
    size_t n = strlen(code);
    return (n > 9 && strcmp(code + n - 9, ".NotFound") == 0) ||
           strcmp(code, "ParameterNotFound") == 0 || strcmp(code, "ResourceNotFoundException") == 0;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int split_endpoint(struct aws_client *c, enum aws_service svc, struct core_err *err)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL;
    int rc = 0;

    if (!u)
        return core_err_set(err, CORE_E_NOMEM, "aws client: out of memory");
    if (curl_url_set(u, CURLUPART_URL, c->cfg->endpoint[svc], 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = core_err_set(err, CORE_E_INVAL, "aws client: %s endpoint '%s' is not a URL",
                          aws_service_name(svc), c->cfg->endpoint[svc]);
        goto done;
    }
    /* Only an explicit port belongs in the Host header (and so in the signature). */
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port)
        snprintf(c->host[svc], sizeof c->host[svc], "%s:%s", host, port);
    else
        core_strlcpy(c->host[svc], host, sizeof c->host[svc]);
    if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path && *path)
        core_strlcpy(c->path[svc], path, sizeof c->path[svc]);
    else
        core_strlcpy(c->path[svc], "/", sizeof c->path[svc]);
done:
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

int aws_client_new(struct core_loop *loop, struct core_http_transport *t,
                   struct aws_creds_provider *creds, const struct aws_config *cfg,
                   const struct aws_client_opts *opts, struct aws_client **out,
                   struct core_err *err)
{
    struct aws_client *c = core_calloc(1, sizeof *c);
    const struct aws_rate *rates;
    size_t nrates;
    int rc = CORE_E_NOMEM;

    if (!c)
        return core_err_set(err, CORE_E_NOMEM, "aws client: out of memory");
    c->loop = loop;
    c->t = t;
    c->creds = creds;
    c->cfg = cfg;
    if (opts)
        c->opts = *opts;
    if (!c->opts.max_attempts)
        c->opts.max_attempts = CLIENT_DEFAULT_ATTEMPTS;
    if (c->opts.backoff_base <= 0)
        c->opts.backoff_base = CLIENT_DEFAULT_BASE;
    if (c->opts.throttle_base <= 0)
        c->opts.throttle_base = CLIENT_DEFAULT_THROTTLE_BASE;
    if (c->opts.backoff_cap <= 0)
        c->opts.backoff_cap = CLIENT_DEFAULT_CAP;
    if (c->opts.not_found_window <= 0)
        c->opts.not_found_window = CLIENT_DEFAULT_NOT_FOUND;
    if (!c->opts.retry_quota)
        c->opts.retry_quota = CLIENT_DEFAULT_QUOTA;
    if (!c->opts.max_response)
        c->opts.max_response = CLIENT_DEFAULT_MAX_RESPONSE;
    if (c->opts.timeout <= 0)
        c->opts.timeout = CLIENT_DEFAULT_TIMEOUT;
    c->quota = (double)c->opts.retry_quota;
    c->rng = c->opts.seed ? c->opts.seed : UINT64_C(0x9E3779B97F4A7C15);
    rates = opts && opts->rates ? opts->rates : default_rates;
    nrates = opts && opts->rates ? opts->nrates : sizeof default_rates / sizeof default_rates[0];
    c->opts.rates = NULL;
    c->rates = core_calloc(nrates ? nrates : 1, sizeof *c->rates);
    if (!c->rates)
        goto fail;
    for (size_t i = 0; i < nrates; i++) {
        c->rates[i] = rates[i];
        c->rates[i].action = core_strdup(rates[i].action);
        if (!c->rates[i].action)
            goto fail;
        c->nrates = i + 1;
    }
    c->buckets = core_map_new();
    c->stats = core_map_new();
    if (!c->buckets || !c->stats)
        goto fail;
    for (int s = 0; s < AWS_SVC_COUNT; s++) {
        rc = split_endpoint(c, (enum aws_service)s, err);
        if (rc)
            goto fail_set;
    }
    *out = c;
    return 0;
fail:
    core_err_set(err, CORE_E_NOMEM, "aws client: out of memory");
fail_set:
    aws_client_free(c);
    return rc;
}

static void call_reset_attempt(struct call *k)
{
    for (size_t i = 0; i < k->nhdrs; i++)
        core_free(k->hdr_store[i]);
    k->nhdrs = 0;
    aws_xml_parser_free(k->xp);
    k->xp = NULL;
    k->xml_failed = 0;
    core_buf_cleanup(&k->acc);
    k->received = 0;
    k->timed_out = 0;
}

/* Cuts every tie between the call and its client: list, timer, HTTP exchange, credentials
 * wait. After this nothing of the client is touched through k. */
static void call_detach(struct call *k)
{
    struct aws_client *c = k->c;
    if (!c)
        return;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
    if (k->timer)
        core_loop_timer_cancel(c->loop, k->timer);
    k->timer = NULL;
    if (k->http_active)
        core_http_cancel(c->t, k->http_id);
    k->http_active = 0;
    if (k->waiting_creds)
        aws_creds_cancel(c->creds, on_creds, k);
    k->waiting_creds = 0;
    k->c = NULL;
}

static void call_free(struct call *k)
{
    call_detach(k);
    call_reset_attempt(k);
    core_free(k->body);
    core_free(k);
}

void aws_client_free(struct aws_client *c)
{
    size_t iter = 0;
    void *v;

    if (!c)
        return;
    c->freeing = 1;
    while (c->calls) {
        struct core_err err;
        struct call *k = c->calls;
        core_err_set(&err, CORE_E_CANCELLED, "%s %s: cancelled: the client is shutting down",
                     aws_service_name(k->svc), k->action);
        if (k->qcb || k->jcb)
            call_finish(k, CORE_E_CANCELLED, NULL, NULL, &err);
        else
            call_free(k);
    }
    if (c->buckets) {
        while (core_map_next(c->buckets, &iter, NULL, &v))
            core_free(v);
        core_map_free(c->buckets);
    }
    iter = 0;
    if (c->stats) {
        while (core_map_next(c->stats, &iter, NULL, &v))
            core_free(v);
        core_map_free(c->stats);
    }
    for (size_t i = 0; i < c->nrates; i++)
        core_free((char *)c->rates[i].action);
    core_free(c->rates);
    core_free(c);
}

struct core_loop *aws_client_loop(const struct aws_client *c)
{
    return c->loop;
}

/* ---- stats and rate buckets ---------------------------------------------------------------- */

static struct action_stat *stat_get(struct aws_client *c, enum aws_service svc,
                                    const char *action)
{
    char key[CLIENT_ACTION_MAX + 8];
    struct action_stat *st;
    snprintf(key, sizeof key, "%s/%s", aws_service_name(svc), action);
    st = core_map_get(c->stats, key, NULL);
    if (st)
        return st;
    st = core_calloc(1, sizeof *st);
    if (!st)
        return NULL;
    core_strlcpy(st->service, aws_service_name(svc), sizeof st->service);
    core_strlcpy(st->action, action, sizeof st->action);
    if (core_map_set(c->stats, key, st, NULL) != 0) {
        core_free(st);
        return NULL;
    }
    return st;
}

int aws_client_stats_next(const struct aws_client *c, size_t *iter, struct aws_action_stats *out)
{
    void *v;
    const struct action_stat *st;
    if (!core_map_next(c->stats, iter, NULL, &v))
        return 0;
    st = v;
    out->service = st->service;
    out->action = st->action;
    out->calls = st->calls;
    out->attempts = st->attempts;
    out->throttled = st->throttled;
    out->errors = st->errors;
    return 1;
}

unsigned long aws_client_quota_refusals(const struct aws_client *c)
{
    return c->quota_refusals;
}

static const struct aws_rate *rate_for(const struct aws_client *c, const char *action)
{
    const struct aws_rate *any = NULL;
    for (size_t i = 0; i < c->nrates; i++) {
        if (strcmp(c->rates[i].action, action) == 0)
            return &c->rates[i];
        if (strcmp(c->rates[i].action, "*") == 0)
            any = &c->rates[i];
    }
    return any;
}

static struct rate_bucket *bucket_get(struct aws_client *c, enum aws_service svc,
                                      const char *action, int *nomem)
{
    char key[CLIENT_ACTION_MAX + 8];
    const struct aws_rate *r = rate_for(c, action);
    struct rate_bucket *b;

    *nomem = 0;
    if (!r || r->qps <= 0)
        return NULL; /* unlimited */
    snprintf(key, sizeof key, "%s/%s", aws_service_name(svc), action);
    b = core_map_get(c->buckets, key, NULL);
    if (b)
        return b;
    b = core_calloc(1, sizeof *b);
    if (!b || core_map_set(c->buckets, key, b, NULL) != 0) {
        core_free(b);
        *nomem = 1;
        return NULL;
    }
    b->qps = r->qps;
    b->burst = r->burst ? (double)r->burst : 1.0;
    b->tokens = b->burst;
    b->last = core_loop_now(c->loop);
    return b;
}

/* Takes a token (tokens may go negative: later calls queue behind). Returns the wait. */
static core_ns bucket_take(struct aws_client *c, struct rate_bucket *b)
{
    core_ns now = core_loop_now(c->loop);
    b->tokens += (double)(now - b->last) / (double)CORE_NS_PER_S * b->qps;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last = now;
    b->tokens -= 1.0;
    if (b->tokens >= 0)
        return 0;
    return (core_ns)(-b->tokens / b->qps * (double)CORE_NS_PER_S);
}

/* ---- completion ---------------------------------------------------------------------------- */

static void call_finish(struct call *k, int rc, const struct aws_xml_node *root, json_t *json,
                        const struct core_err *err)
{
    if (rc && k->stat)
        k->stat->errors++;
    /* Detached before the callback, which may free the client; the answer (root points into
     * the call's parser) stays alive until the callback returns. */
    call_detach(k);
    if (k->proto == PROTO_QUERY)
        k->qcb(k->ud, rc, rc ? NULL : root, err);
    else
        k->jcb(k->ud, rc, rc ? NULL : json, err);
    call_free(k);
}

static void call_fail(struct call *k, int code, const char *fmt, ...) CORE_PRINTF(3, 4);
static void call_fail(struct call *k, int code, const char *fmt, ...)
{
    struct core_err err;
    va_list ap;
    core_err_clear(&err);
    va_start(ap, fmt);
    core_err_setv(&err, code, fmt, ap);
    va_end(ap);
    call_finish(k, code, NULL, NULL, &err);
}

static uint64_t rng_next(struct aws_client *c)
{
    /* splitmix64: tiny, seedable, good enough for jitter. */
    uint64_t z = (c->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void on_retry_timer(void *ud)
{
    struct call *k = ud;
    k->timer = NULL;
    call_next_step(k);
}

/* Decides whether to try again; returns 1 when a retry was scheduled. */
static int call_maybe_retry(struct call *k, int throttled, int timed_out, int not_found)
{
    struct aws_client *c = k->c;
    double cost = timed_out ? CLIENT_TIMEOUT_COST : CLIENT_RETRY_COST;
    core_ns base, ceiling, delay;
    unsigned shift;

    if (k->attempt >= c->opts.max_attempts)
        return 0;
    if (not_found &&
        core_loop_now(c->loop) - k->first_sent >= c->opts.not_found_window)
        return 0;
    if (!not_found && c->quota < cost) {
        c->quota_refusals++;
        return 0;
    }
    base = throttled ? c->opts.throttle_base : c->opts.backoff_base;
    shift = k->attempt - 1 > 30 ? 30 : k->attempt - 1;
    ceiling = base > (c->opts.backoff_cap >> shift) ? c->opts.backoff_cap : base << shift;
    if (ceiling > c->opts.backoff_cap || ceiling <= 0)
        ceiling = c->opts.backoff_cap;
    /* Full jitter: uniform in [0, ceiling]. */
    delay = (core_ns)(rng_next(c) % (uint64_t)(ceiling + 1));
    /* The timer first: if it cannot be had, the attempt's answer (which the caller is still
     * reading) stays intact and no quota is spent on a retry that will not happen. */
    k->timer = core_loop_timer_add(c->loop, delay, on_retry_timer, k);
    if (!k->timer)
        return 0;
    if (!not_found)
        c->quota -= cost;
    call_reset_attempt(k);
    return 1;
}

static void service_error_message(struct call *k, struct core_err *err, const char *code,
                                  const char *msg, long status, const char *reqid)
{
    core_err_set(err, err->code, "%s %s: %s: %s (HTTP %ld%s%s, attempt %u)",
                 aws_service_name(k->svc), k->action, code, msg && *msg ? msg : "no message",
                 status, reqid && *reqid ? ", request id " : "", reqid ? reqid : "", k->attempt);
    core_err_set_service(err, status, code, reqid);
}

/* Handles an answer with a service error code. */
static void call_service_error(struct call *k, long status, const char *code, const char *msg,
                               const char *reqid)
{
    struct core_err err;
    int throttled = aws_error_is_throttling(code);
    int not_found = error_is_not_found(code);
    /* EC2 answers InsufficientInstanceCapacity with HTTP 500, but retrying the same request
     * cannot help: the caller moves to another offering instead. */
    int transient = (status >= 500 && !aws_error_is_capacity(code)) || error_is_transient(code);

    core_err_clear(&err);
    if (throttled && k->stat)
        k->stat->throttled++;
    if (throttled || transient) {
        if (call_maybe_retry(k, throttled, 0, 0))
            return;
    } else if (not_found && (k->flags & AWS_CALL_RETRY_NOT_FOUND)) {
        if (call_maybe_retry(k, 0, 0, 1))
            return;
    }
    err.code = throttled ? CORE_E_THROTTLED
               : not_found ? CORE_E_NOTFOUND
               : error_is_auth(code) ? CORE_E_AUTH
                                     : CORE_E_SERVICE;
    service_error_message(k, &err, code, msg, status, reqid);
    call_finish(k, err.code, NULL, NULL, &err);
}

static void call_success(struct call *k)
{
    struct aws_client *c = k->c;
    if (c->quota + 1.0 <= (double)c->opts.retry_quota)
        c->quota += 1.0;
}

static void finish_query(struct call *k, struct core_http_response *resp)
{
    const struct aws_xml_node *root = NULL;
    struct core_err err;
    int rc = k->xml_failed ? CORE_E_PARSE : aws_xml_parser_finish(k->xp, &root, &err);

    if (resp->status >= 200 && resp->status < 300) {
        if (rc) {
            call_fail(k, CORE_E_PARSE, "%s %s: the answer (HTTP %ld, %zu bytes) is not valid "
                      "XML: %s", aws_service_name(k->svc), k->action, resp->status, k->received,
                      k->xml_failed ? "parse failed" : err.message);
            return;
        }
        call_success(k);
        call_finish(k, 0, root, NULL, NULL);
        return;
    }
    if (!rc) {
        /* EC2: <Response><Errors><Error>…</Error></Errors><RequestID>;
         * STS: <ErrorResponse><Error>…</Error><RequestId>. */
        const struct aws_xml_node *e = aws_xml_path(root, "Errors/Error");
        const char *reqid = aws_xml_child_text(root, "RequestID");
        if (!e)
            e = aws_xml_child(root, "Error");
        if (!reqid)
            reqid = aws_xml_child_text(root, "RequestId");
        if (e && aws_xml_child_text(e, "Code")) {
            call_service_error(k, resp->status, aws_xml_child_text(e, "Code"),
                               aws_xml_child_text(e, "Message"), reqid);
            return;
        }
    }
    /* Not an AWS error document: a proxy or load balancer answered. 5xx is worth a retry. */
    if (resp->status >= 500 && call_maybe_retry(k, 0, 0, 0))
        return;
    {
        const char *ctype = core_http_response_header(resp, "content-type");
        call_fail(k, resp->status >= 500 ? CORE_E_HTTP : CORE_E_PARSE,
                  "%s %s: HTTP %ld with an answer that is not an AWS error (%s, %zu bytes)",
                  aws_service_name(k->svc), k->action, resp->status, ctype ? ctype : "no type",
                  k->received);
    }
}

/* "com.amazon.coral.service#ParameterNotFound:http://..." → "ParameterNotFound". */
static void amzn_error_code(const char *raw, char *out, size_t outsz)
{
    const char *hash = strrchr(raw, '#');
    const char *s = hash ? hash + 1 : raw;
    size_t n = strcspn(s, ":");
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, s, n);
    out[n] = '\0';
}

static void finish_json(struct call *k, struct core_http_response *resp)
{
    json_error_t jerr;
    json_t *doc = NULL;
    const char *hdr;
    char code[CORE_ERR_CODE_MAX];

    if (k->acc.len > 0)
        doc = json_loadb(k->acc.data, k->acc.len, JSON_REJECT_DUPLICATES, &jerr);
    if (resp->status >= 200 && resp->status < 300) {
        if (!doc || !json_is_object(doc)) {
            json_decref(doc);
            call_fail(k, CORE_E_PARSE, "%s %s: the answer (HTTP %ld, %zu bytes) is not a JSON "
                      "object", aws_service_name(k->svc), k->action, resp->status, k->acc.len);
            return;
        }
        call_success(k);
        call_finish(k, 0, NULL, doc, NULL);
        json_decref(doc);
        return;
    }
    hdr = core_http_response_header(resp, "x-amzn-errortype");
    code[0] = '\0';
    if (hdr)
        amzn_error_code(hdr, code, sizeof code);
    else if (doc && json_is_string(json_object_get(doc, "__type")))
        amzn_error_code(json_string_value(json_object_get(doc, "__type")), code, sizeof code);
    if (code[0]) {
        const char *msg = NULL;
        if (doc) {
            json_t *m = json_object_get(doc, "message");
            if (!json_is_string(m))
                m = json_object_get(doc, "Message");
            msg = json_string_value(m);
        }
        call_service_error(k, resp->status, code, msg,
                           core_http_response_header(resp, "x-amzn-requestid"));
        json_decref(doc);
        return;
    }
    json_decref(doc);
    if (resp->status >= 500 && call_maybe_retry(k, 0, 0, 0))
        return;
    call_fail(k, resp->status >= 500 ? CORE_E_HTTP : CORE_E_PARSE,
              "%s %s: HTTP %ld with an answer that is not an AWS error (%zu bytes)",
              aws_service_name(k->svc), k->action, resp->status, k->acc.len);
}

static void on_http_done(void *ud, struct core_http_response *resp)
{
    struct call *k = ud;
    int rc = resp->result;

    k->http_active = 0;
    if (k->timer) {
        core_loop_timer_cancel(k->c->loop, k->timer);
        k->timer = NULL;
    }
    if (rc == CORE_E_TIMEOUT || rc == CORE_E_TRANSPORT) {
        if (call_maybe_retry(k, 0, rc == CORE_E_TIMEOUT, 0))
            return;
        call_fail(k, rc, "%s %s: %s (attempt %u)", aws_service_name(k->svc), k->action,
                  resp->err.message[0] ? resp->err.message : core_strerror(rc), k->attempt);
        return;
    }
    if (rc) {
        call_fail(k, rc, "%s %s: %s", aws_service_name(k->svc), k->action,
                  resp->err.message[0] ? resp->err.message : core_strerror(rc));
        return;
    }
    if (k->proto == PROTO_QUERY)
        finish_query(k, resp);
    else
        finish_json(k, resp);
}

static int on_http_data(void *ud, const char *data, size_t len)
{
    struct call *k = ud;
    if (len > k->c->opts.max_response - k->received) {
        k->received = k->c->opts.max_response + 1;
        return 1; /* abort: reported from the completion */
    }
    k->received += len;
    if (k->proto == PROTO_JSON)
        return core_buf_append(&k->acc, data, len) != 0;
    if (!k->xml_failed && aws_xml_parser_feed(k->xp, data, len, NULL) != 0)
        k->xml_failed = 1; /* keep reading: the status decides what the failure means */
    return 0;
}

static void on_attempt_deadline(void *ud)
{
    struct call *k = ud;
    struct core_http_response resp;

    k->timer = NULL;
    if (k->http_active) {
        core_http_cancel(k->c->t, k->http_id);
        k->http_active = 0;
    }
    memset(&resp, 0, sizeof resp);
    resp.result = CORE_E_TIMEOUT;
    core_err_set(&resp.err, CORE_E_TIMEOUT, "no answer within %lld ms",
                 (long long)(k->c->opts.timeout / CORE_NS_PER_MS));
    on_http_done(k, &resp);
}

/* ---- sending ------------------------------------------------------------------------------- */

static int add_header(struct call *k, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *h;
    if (k->nhdrs == CLIENT_MAX_HEADERS)
        return CORE_E_TOOBIG;
    h = core_malloc(n);
    if (!h)
        return CORE_E_NOMEM;
    snprintf(h, n, "%s: %s", name, value);
    k->hdr_store[k->nhdrs] = h;
    k->hdrs[k->nhdrs] = h;
    k->nhdrs++;
    return 0;
}

static void call_send(struct call *k, const struct aws_credentials *creds)
{
    struct aws_client *c = k->c;
    struct aws_sigv4_header sh[3];
    struct aws_sigv4_request sreq;
    struct aws_sigv4_params sp;
    struct aws_sigv4_auth_headers auth;
    struct core_err err;
    const char *ctype = k->proto == PROTO_QUERY
                            ? "application/x-www-form-urlencoded; charset=utf-8"
                            : "application/x-amz-json-1.1";
    size_t nsh = 0;
    int rc;

    memset(&auth, 0, sizeof auth);
    core_err_clear(&err);
    call_reset_attempt(k);
    k->attempt++;
    if (k->attempt == 1)
        k->first_sent = core_loop_now(c->loop);
    if (k->stat)
        k->stat->attempts++;
    if (k->proto == PROTO_QUERY) {
        struct aws_xml_limits lim = {0, 0, 0, c->opts.max_response};
        k->xp = aws_xml_parser_new(&lim);
        if (!k->xp)
            goto nomem;
    } else {
        core_buf_init(&k->acc, c->opts.max_response);
    }
    sh[nsh].name = "Host";
    sh[nsh++].value = c->host[k->svc];
    sh[nsh].name = "Content-Type";
    sh[nsh++].value = ctype;
    if (k->proto == PROTO_JSON) {
        sh[nsh].name = "X-Amz-Target";
        sh[nsh++].value = k->target;
    }
    for (size_t i = 0; i < nsh; i++)
        if (strcmp(sh[i].name, "Host") != 0 && (rc = add_header(k, sh[i].name, sh[i].value)))
            goto fail_rc;
    if (creds) {
        memset(&sp, 0, sizeof sp);
        sp.region = c->cfg->region;
        sp.service = aws_service_name(k->svc);
        sp.wall = core_clock_wall(core_loop_clock(c->loop));
        sp.normalize_path = 1;
        sreq.method = "POST";
        sreq.target = c->path[k->svc];
        sreq.headers = sh;
        sreq.nheaders = nsh;
        sreq.body = k->body;
        sreq.body_len = k->body_len;
        rc = aws_sigv4_sign_headers(&sreq, creds, &sp, &auth, &err);
        if (rc) {
            call_fail(k, rc, "%s %s: signing failed: %s", aws_service_name(k->svc), k->action,
                      err.message);
            return;
        }
        for (size_t i = 0; i < auth.count; i++)
            if ((rc = add_header(k, auth.h[i].name, auth.h[i].value)) != 0)
                goto fail_rc;
        aws_sigv4_auth_headers_cleanup(&auth);
    }
    memset(&k->req, 0, sizeof k->req);
    k->req.method = "POST";
    k->req.url = c->cfg->endpoint[k->svc];
    k->req.headers = k->hdrs;
    k->req.nheaders = k->nhdrs;
    k->req.body = k->body;
    k->req.body_len = k->body_len;
    k->req.max_response = c->opts.max_response;
    k->req.on_data = on_http_data;
    k->req.on_done = on_http_done;
    k->req.ud = k;
    rc = core_http_submit(c->t, &k->req, &k->http_id, &err);
    if (rc) {
        /* A connection-level refusal may be retried; anything else (shutting down, a bad
         * request, no memory) is final and keeps its own code. */
        struct core_http_response resp;
        if (rc != CORE_E_TRANSPORT && rc != CORE_E_TIMEOUT) {
            call_fail(k, rc, "%s %s: %s", aws_service_name(k->svc), k->action,
                      err.message[0] ? err.message : core_strerror(rc));
            return;
        }
        memset(&resp, 0, sizeof resp);
        resp.result = rc;
        resp.err = err;
        on_http_done(k, &resp);
        return;
    }
    k->http_active = 1;
    k->timer = core_loop_timer_add(c->loop, c->opts.timeout, on_attempt_deadline, k);
    if (!k->timer)
        goto nomem;
    return;
nomem:
    rc = CORE_E_NOMEM;
fail_rc:
    aws_sigv4_auth_headers_cleanup(&auth);
    call_fail(k, rc, "%s %s: %s while building the request", aws_service_name(k->svc),
              k->action, core_strerror(rc));
}

static void on_creds(void *ud, int rc, const struct aws_credentials *creds,
                     const struct core_err *err)
{
    struct call *k = ud;
    k->waiting_creds = 0;
    if (rc) {
        call_fail(k, rc, "%s %s: no credentials: %s", aws_service_name(k->svc), k->action,
                  err ? err->message : core_strerror(rc));
        return;
    }
    call_send(k, creds);
}

/* The next step of a call that is neither waiting nor in flight: rate token, credentials,
 * send. */
static void call_next_step(struct call *k)
{
    struct aws_client *c = k->c;
    struct core_err err;

    /* Every attempt, retries included, takes a token from its action's bucket. */
    if (k->bucket && !k->have_token) {
        core_ns wait = bucket_take(c, k->bucket);
        k->have_token = 1;
        if (wait > 0) {
            k->timer = core_loop_timer_add(c->loop, wait, on_retry_timer, k);
            if (!k->timer)
                call_fail(k, CORE_E_NOMEM, "%s %s: out of memory", aws_service_name(k->svc),
                          k->action);
            return;
        }
    }
    k->have_token = 0;
    if (k->flags & AWS_CALL_UNSIGNED) {
        call_send(k, NULL);
        return;
    }
    if (!c->creds) {
        call_fail(k, CORE_E_AUTH, "%s %s: this client has no credentials provider",
                  aws_service_name(k->svc), k->action);
        return;
    }
    k->waiting_creds = 1;
    if (aws_creds_get(c->creds, on_creds, k, &err) != 0) {
        k->waiting_creds = 0;
        call_fail(k, err.code ? err.code : CORE_E_AUTH, "%s %s: no credentials: %s",
                  aws_service_name(k->svc), k->action, err.message);
    }
}

static int call_start(struct aws_client *c, enum aws_service svc, enum call_proto proto,
                      const char *action, unsigned flags, char *body, size_t body_len,
                      struct call **out, struct core_err *err)
{
    struct call *k;
    int nomem = 0;

    if (c->freeing) {
        core_free(body);
        return core_err_set(err, CORE_E_CANCELLED, "%s %s: the client is shutting down",
                            aws_service_name(svc), action);
    }
    if (strlen(action) >= CLIENT_ACTION_MAX) {
        core_free(body);
        return core_err_set(err, CORE_E_INVAL, "%s: action name too long",
                            aws_service_name(svc));
    }
    k = core_calloc(1, sizeof *k);
    if (!k) {
        core_free(body);
        return core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory", aws_service_name(svc),
                            action);
    }
    k->c = c;
    k->svc = svc;
    k->proto = proto;
    k->flags = flags;
    k->body = body;
    k->body_len = body_len;
    core_strlcpy(k->action, action, sizeof k->action);
    core_buf_init(&k->acc, c->opts.max_response);
    k->stat = stat_get(c, svc, action);
    k->bucket = bucket_get(c, svc, action, &nomem);
    if (!k->stat || nomem) {
        core_free(k->body);
        core_free(k);
        return core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory", aws_service_name(svc),
                            action);
    }
    k->stat->calls++;
    k->next = c->calls;
    if (c->calls)
        c->calls->prev = k;
    c->calls = k;
    *out = k;
    return 0;
}

/* Every attempt is deferred to the loop, so callbacks never run inside the caller's call. */
static void on_start_timer(void *ud)
{
    struct call *k = ud;
    k->timer = NULL;
    call_next_step(k);
}

static int call_kick(struct call *k, struct core_err *err)
{
    k->timer = core_loop_timer_add(k->c->loop, 0, on_start_timer, k);
    if (!k->timer) {
        k->qcb = NULL;
        k->jcb = NULL;
        core_free(k->body);
        k->body = NULL;
        call_free(k);
        return core_err_set(err, CORE_E_NOMEM, "aws client: out of memory");
    }
    return 0;
}

int aws_query_call(struct aws_client *c, enum aws_service svc, const struct aws_query *params,
                   unsigned flags, aws_query_fn cb, void *ud, struct core_err *err)
{
    const char *action = aws_query_get(params, "Action");
    struct core_buf body;
    struct call *k = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (!action || !aws_query_get(params, "Version"))
        return core_err_set(err, CORE_E_INVAL, "%s: a Query request needs Action and Version",
                            aws_service_name(svc));
    core_buf_init(&body, c->opts.max_response);
    rc = aws_query_encode(params, &body);
    if (!rc)
        rc = core_buf_steal(&body, &text, &len);
    core_buf_cleanup(&body);
    if (rc)
        return core_err_set(err, rc, "%s %s: cannot encode the request: %s",
                            aws_service_name(svc), action, core_strerror(rc));
    rc = call_start(c, svc, PROTO_QUERY, action, flags, text, len, &k, err);
    if (rc)
        return rc;
    k->qcb = cb;
    k->ud = ud;
    return call_kick(k, err);
}

int aws_json_call(struct aws_client *c, enum aws_service svc, const char *target,
                  const json_t *body, unsigned flags, aws_json_fn cb, void *ud,
                  struct core_err *err)
{
    const char *dot = strrchr(target, '.');
    struct call *k = NULL;
    char *text;
    int rc;

    if (!dot || !dot[1])
        return core_err_set(err, CORE_E_INVAL, "%s: JSON target '%s' must be Service.Action",
                            aws_service_name(svc), target);
    text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return core_err_set(err, CORE_E_NOMEM, "%s %s: cannot serialise the request",
                            aws_service_name(svc), dot + 1);
    {
        /* jansson allocates with malloc; move the text into our allocator's ownership. */
        char *own = core_strdup(text);
        free(text);
        if (!own)
            return core_err_set(err, CORE_E_NOMEM, "%s %s: out of memory",
                                aws_service_name(svc), dot + 1);
        text = own;
    }
    rc = call_start(c, svc, PROTO_JSON, dot + 1, flags, text, strlen(text), &k, err);
    if (rc)
        return rc;
    if (strlen(target) >= sizeof k->target) {
        k->jcb = NULL;
        call_free(k);
        return core_err_set(err, CORE_E_INVAL, "%s: JSON target too long", aws_service_name(svc));
    }
    core_strlcpy(k->target, target, sizeof k->target);
    k->jcb = cb;
    k->ud = ud;
    return call_kick(k, err);
}
