/*
 * aws/aws.h — the public interface of stoker's aws module.
 *
 * The aws module is how stoker talks to AWS: credentials (environment, shared files, web
 * identity / IRSA, EKS Pod Identity, IMDSv2), request signing (Signature Version 4, in headers
 * and in pre-signed URLs, and the EKS authentication token built on it), and the service
 * clients (EC2 Query, SSM JSON, STS) with their retry, throttling and endpoint rules. It
 * reports facts and errors; it makes no provisioning decisions.
 *
 * Invariants kept by everything declared here:
 *  - Every external symbol starts with aws_ (types, functions) or AWS_ (macros).
 *  - Functions that can fail return 0 or a negative CORE_E_* code and put detail into a
 *    caller-owned struct core_err when one is passed (it may be NULL). Out-parameters are
 *    written only on success; a core_buf output is appended to only on success and left
 *    exactly as it was on failure.
 *  - Nothing here logs or prints, and no error message ever contains a secret access key, a
 *    session token, a signing key or a signature.
 *  - Nothing here reads the system clock: every time is a wall time (core_ns since the Unix
 *    epoch, UTC) passed in by the caller, who got it from a struct core_clock.
 *  - Every _cleanup/_free accepts NULL and a zeroed struct.
 *  - Inputs that come from outside (request targets, header values) are parsed within fixed
 *    limits (AWS_SIGV4_*_MAX); exceeding one is CORE_E_TOOBIG, never an overflow.
 *
 * Sections: credentials; Signature Version 4; EKS authentication token; XML tree and Query
 * form; environment, region and endpoints; credentials chain; the client (signing, retries,
 * throttling); EC2; SSM and STS.
 */
#ifndef STOKER_AWS_H
#define STOKER_AWS_H

#include "core/core.h"

#include <jansson.h>
#include <stddef.h>


/* ------------------------------------------------------------------------------------------ */
/* Credentials                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* One set of AWS credentials. All strings are heap strings from the core_malloc family, owned
 * by the struct and released by aws_credentials_cleanup. session_token is NULL for long-term
 * keys; temporary credentials (IRSA, Pod Identity, IMDS) have one. */
struct aws_credentials {
    char *access_key_id;
    char *secret_access_key; /* never logged, never put in an error message */
    char *session_token;     /* NULL when none; as secret as the key */
    core_ns expiration;      /* wall time after which they are invalid; 0 = no expiry */
};

/* Wipes the secret and the token, frees every string, and zeroes *c. Accepts NULL. */
void aws_credentials_cleanup(struct aws_credentials *c);

/* ------------------------------------------------------------------------------------------ */
/* Signature Version 4                                                                         */
/* ------------------------------------------------------------------------------------------ */

/*
 * The signer follows the official test suite (tests/data/sigv4, the layout kept by
 * awslabs/aws-c-auth) stage by stage: canonical request, string to sign, signature, and the
 * signed request, for signing in headers and in the query string (pre-signed URLs).
 *
 * Canonicalisation, in short:
 *  - Path: with normalize_path, dot segments are removed and empty segments collapsed, a
 *    trailing slash is kept; then every byte but RFC 3986 unreserved characters and '/' is
 *    percent-encoded (uppercase hex). Real request targets are already encoded, so for
 *    non-S3 services this is the "double encoding" AWS expects. S3 sets path_is_encoded and
 *    normalize_path = 0: the path is used as sent.
 *  - Query: split on '&' (empty pieces dropped) and the first '='; each name and value is
 *    percent-decoded (a malformed escape stays literal) and re-encoded, so raw and encoded
 *    input give the same result; sorted by encoded name, then value; '=' always present.
 *  - Headers: names lowercased; values trimmed and runs of whitespace (SP, HTAB, CR, LF, so
 *    obs-fold continuation lines too) collapsed to one space; repeated names joined with ','
 *    in order of appearance; sorted by name. A few hop-by-hop or proxy-rewritten headers are
 *    never signed (user-agent, x-amzn-trace-id, expect, connection, upgrade,
 *    transfer-encoding). A Host header is required.
 *  - Payload: lowercase hex SHA-256 of the body, or UNSIGNED-PAYLOAD when asked for.
 */

#define AWS_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define AWS_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* Limits on what the signer accepts. */
#define AWS_SIGV4_TARGET_MAX 65536u       /* bytes of request target (path + query) */
#define AWS_SIGV4_HEADERS_MAX 128u        /* request headers */
#define AWS_SIGV4_HEADER_VALUE_MAX 65536u /* bytes of one header value */
#define AWS_SIGV4_QUERY_PARAMS_MAX 1024u  /* query parameters */
#define AWS_SIGV4_TEXT_MAX (1u << 20)     /* bytes of any intermediate text */
#define AWS_SIGV4_EXPIRES_MAX_S 604800    /* pre-signed URLs live at most 7 days */
/* Lengths of fixed-size outputs, without the terminating NUL. */
#define AWS_SIGV4_SIGNATURE_LEN 64u /* lowercase hex HMAC-SHA256 */
#define AWS_SIGV4_DATE_LEN 16u      /* "YYYYMMDDTHHMMSSZ" */

/* One request header. Both strings are borrowed, NUL-terminated, and used as given: the name
 * is case-insensitive; the value may carry leading/trailing blanks and obs-fold line breaks. */
struct aws_sigv4_header {
    const char *name;
    const char *value;
};

/* The request to sign, as it will go on the wire. Everything is borrowed for the call.
 * target is the request-target in origin form ("/path?query", percent-encoded as sent; an
 * empty target means "/"). Headers may repeat a name. body may be NULL when body_len is 0. */
struct aws_sigv4_request {
    const char *method;
    const char *target;
    const struct aws_sigv4_header *headers;
    size_t nheaders;
    const void *body;
    size_t body_len;
};

/* Where the signature goes. */
enum aws_sigv4_mode {
    AWS_SIGV4_HEADERS = 0, /* X-Amz-Date (+ token, content hash) and Authorization headers */
    AWS_SIGV4_QUERY = 1,   /* X-Amz-* query parameters: a pre-signed URL */
};

/* How to sign. Strings are borrowed for the call. */
struct aws_sigv4_params {
    const char *region;  /* "us-east-1": letters, digits, '-', '_', '.' */
    const char *service; /* signing name: "ec2", "ssm", "sts", "s3", ... (same charset) */
    core_ns wall;        /* signing time, UTC wall clock; whole seconds are used */
    int normalize_path;  /* remove dot segments and empty segments: every service but S3 */
    int path_is_encoded; /* S3: take the path as already canonical instead of encoding it */
    int sign_body;       /* header mode: add and sign x-amz-content-sha256 (payload hash) */
    int unsigned_payload; /* payload hash is UNSIGNED-PAYLOAD instead of the body's SHA-256 */
    int omit_session_token; /* sign without the session token, add it afterwards (some
                               services, e.g. IoT, want the token outside the signature) */
    core_ns expires;     /* query mode: X-Amz-Expires; whole seconds, 1 s .. 7 days */
};

/* Appends the canonical request for req in the given mode to out. creds is borrowed: the
 * access key id goes into X-Amz-Credential (query mode) and the session token into
 * x-amz-security-token / X-Amz-Security-Token unless omit_session_token; the secret is not
 * used. Fails with CORE_E_INVAL for a malformed request or parameters (no Host header, a
 * header the signer adds itself already present, a bad method or target), CORE_E_AUTH when
 * creds is NULL or its access key id or token is unusable, CORE_E_TOOBIG when a limit
 * (AWS_SIGV4_*_MAX or out->limit) is exceeded, CORE_E_NOMEM. */
int aws_sigv4_canonical_request(const struct aws_sigv4_request *req,
                                const struct aws_credentials *creds,
                                const struct aws_sigv4_params *params, enum aws_sigv4_mode mode,
                                struct core_buf *out, struct core_err *err) CORE_NODISCARD;

/* Appends the string to sign for a canonical request (borrowed, len bytes) to out:
 * algorithm, X-Amz-Date, credential scope (date/region/service/aws4_request) and the hex
 * SHA-256 of the canonical request, separated by '\n'. Only region, service and wall of
 * params are used. */
int aws_sigv4_string_to_sign(const char *canonical_request, size_t len,
                             const struct aws_sigv4_params *params, struct core_buf *out,
                             struct core_err *err) CORE_NODISCARD;

/* Appends the signature (AWS_SIGV4_SIGNATURE_LEN lowercase hex characters) of a string to
 * sign (borrowed, len bytes) to out, with the signing key derived from creds' secret and the
 * date, region and service of params. The key never leaves this function and is wiped. */
int aws_sigv4_signature(const char *string_to_sign, size_t len,
                        const struct aws_credentials *creds,
                        const struct aws_sigv4_params *params, struct core_buf *out,
                        struct core_err *err) CORE_NODISCARD;

/* The headers to add to a request signed in headers, in the order to add them:
 * X-Amz-Security-Token (when the credentials have a token), X-Amz-Date, x-amz-content-sha256
 * (when sign_body), Authorization. name points to a static string; value is owned by the
 * struct and freed by aws_sigv4_auth_headers_cleanup. */
#define AWS_SIGV4_AUTH_HEADERS_MAX 4
struct aws_sigv4_auth_header {
    const char *name;
    char *value;
};
struct aws_sigv4_auth_headers {
    size_t count;
    struct aws_sigv4_auth_header h[AWS_SIGV4_AUTH_HEADERS_MAX];
};

/* Frees the values and zeroes *h. Accepts NULL and a zeroed struct. */
void aws_sigv4_auth_headers_cleanup(struct aws_sigv4_auth_headers *h);

/* Signs req in headers. On success *out (which the caller later releases with
 * aws_sigv4_auth_headers_cleanup) holds the headers to add; the request itself is not
 * changed. creds and params are borrowed. Errors as for aws_sigv4_canonical_request, plus
 * CORE_E_AUTH when creds has no access key id or secret. */
int aws_sigv4_sign_headers(const struct aws_sigv4_request *req,
                           const struct aws_credentials *creds,
                           const struct aws_sigv4_params *params,
                           struct aws_sigv4_auth_headers *out, struct core_err *err)
    CORE_NODISCARD;

/* Pre-signs req: appends to out the query parameters to add to the request's own query, in
 * this order and already encoded: X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-SignedHeaders, X-Amz-Expires, X-Amz-Security-Token (when the credentials have a
 * token), X-Amz-Signature — joined with '&', with no leading '?' or '&' (the caller adds '?'
 * or '&' depending on whether the target already has a query). The request must not already
 * carry any of those parameters. Errors as for aws_sigv4_sign_headers. */
int aws_sigv4_presign(const struct aws_sigv4_request *req, const struct aws_credentials *creds,
                      const struct aws_sigv4_params *params, struct core_buf *out,
                      struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* EKS authentication token                                                                    */
/* ------------------------------------------------------------------------------------------ */

#define AWS_EKS_TOKEN_PREFIX "k8s-aws-v1."
#define AWS_EKS_TOKEN_EXPIRES_S 60 /* X-Amz-Expires of the pre-signed URL */
#define AWS_EKS_CLUSTER_NAME_MAX 100u

/* Appends an EKS bearer token to out: "k8s-aws-v1." followed by the base64url encoding,
 * without padding, of a pre-signed STS GetCallerIdentity URL
 * (https://<host>/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-...) that expires after
 * AWS_EKS_TOKEN_EXPIRES_S and has the header "x-k8s-aws-id: <cluster_name>" signed in, the
 * format of aws-iam-authenticator and `aws eks get-token`. The API server accepts it for
 * about 15 minutes after wall_now; callers refresh well before.
 * sts_endpoint may be NULL (https://sts.<region>.amazonaws.com), a host[:port], or an
 * "https://host[:port]" / "http://host[:port]" URL with no path (a trailing '/' is allowed);
 * a default port is dropped. Everything is borrowed. The token is a credential: never log it.
 * CORE_E_INVAL for a bad region, cluster name or endpoint; CORE_E_AUTH for missing keys. */
int aws_eks_token(const struct aws_credentials *creds, const char *region,
                  const char *cluster_name, core_ns wall_now, const char *sts_endpoint,
                  struct core_buf *out, struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* XML tree and Query form                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* EC2 and STS answer in XML: expat's events build a bounded element tree that the decoders
 * walk. Every limit is explicit (depth, nodes, text per element, total bytes); crossing one is
 * CORE_E_TOOBIG naming the limit; malformed XML is CORE_E_PARSE with expat's line and column.
 * A document type declaration is refused, so no entity can be declared, let alone expanded. */

struct aws_xml_node {
    const char *name;       /* element name as written (no namespace processing) */
    const char *text;       /* concatenated character data directly inside, "" if none */
    size_t text_len;
    struct aws_xml_node *parent;
    struct aws_xml_node *child; /* first child element */
    struct aws_xml_node *last;  /* last child element */
    struct aws_xml_node *next;  /* next sibling element */
};

struct aws_xml_limits {
    unsigned max_depth;  /* default 64 */
    size_t max_nodes;    /* default 1,000,000 */
    size_t max_text;     /* bytes of text in one element; default 1 MiB */
    size_t max_bytes;    /* bytes fed in total; default 64 MiB */
};

/* An incremental parser: feed bytes as they arrive, then finish to get the tree. Opaque. */
struct aws_xml_parser;

/* limits may be NULL for the defaults. NULL on allocation failure. */
struct aws_xml_parser *aws_xml_parser_new(const struct aws_xml_limits *limits);
/* Frees the parser and, unless it was taken with aws_xml_parser_finish, its tree. */
void aws_xml_parser_free(struct aws_xml_parser *p);
/* Feeds a piece of the document. After an error every later call returns the same error. */
int aws_xml_parser_feed(struct aws_xml_parser *p, const char *data, size_t len,
                        struct core_err *err);
/* Ends the document and returns its root element (borrowed: valid until the parser is freed). */
int aws_xml_parser_finish(struct aws_xml_parser *p, const struct aws_xml_node **root,
                          struct core_err *err);

/* First child element with this name, or NULL. */
const struct aws_xml_node *aws_xml_child(const struct aws_xml_node *n, const char *name);
/* Text of the first child with this name, or NULL when there is no such child. */
const char *aws_xml_child_text(const struct aws_xml_node *n, const char *name);
/* The next sibling after `after` with this name (after = NULL: the first child so named). */
const struct aws_xml_node *aws_xml_next(const struct aws_xml_node *parent,
                                        const struct aws_xml_node *after, const char *name);
/* Follows a path of child names separated by '/', e.g. "Errors/Error/Code". */
const struct aws_xml_node *aws_xml_path(const struct aws_xml_node *n, const char *path);


/* An ordered list of name=value pairs that encodes to an application/x-www-form-urlencoded
 * body (RFC 3986 unreserved characters kept, everything else percent-encoded). */
struct aws_query {
    char **names;
    char **values;
    size_t n, cap;
};

void aws_query_init(struct aws_query *q);
void aws_query_cleanup(struct aws_query *q);
int aws_query_add(struct aws_query *q, const char *name, const char *value);
/* Adds a pair whose name is formatted, e.g. ("Filter.%zu.Value.%zu", i, j). */
int aws_query_addf(struct aws_query *q, const char *value, const char *name_fmt, ...)
    CORE_PRINTF(3, 4);
/* Value of the first pair with this name, or NULL. */
const char *aws_query_get(const struct aws_query *q, const char *name);
/* Appends the encoded form to out. */
int aws_query_encode(const struct aws_query *q, struct core_buf *out);
/* Parses an encoded form (as the emulators receive it) into q; names and values decoded. */
int aws_query_parse(struct aws_query *q, const char *body, size_t len, struct core_err *err);

/* ------------------------------------------------------------------------------------------ */
/* Environment, region and endpoints                                                           */
/* ------------------------------------------------------------------------------------------ */

/* Where configuration variables come from. get returns NULL for an unset variable. A NULL
 * struct aws_env * means the process environment; tests pass a table. */
typedef const char *(*aws_getenv_fn)(void *ud, const char *name);
struct aws_env {
    aws_getenv_fn get;
    void *ud;
};
/* The variable's value, NULL when unset or empty. env may be NULL (process environment). */
const char *aws_env_get(const struct aws_env *env, const char *name);

enum aws_service { AWS_SVC_EC2 = 0, AWS_SVC_SSM, AWS_SVC_STS, AWS_SVC_COUNT };
/* "ec2", "ssm", "sts": the endpoint prefix and signing name. */
const char *aws_service_name(enum aws_service svc);

#define AWS_REGION_MAX 64u
#define AWS_URL_MAX 512u

/* Where to send requests. Endpoints are base URLs without a trailing '/'
 * ("https://ec2.us-east-1.amazonaws.com", "http://127.0.0.1:4566"). */
struct aws_config {
    char region[AWS_REGION_MAX];
    char endpoint[AWS_SVC_COUNT][AWS_URL_MAX];
    char imds_endpoint[AWS_URL_MAX]; /* default http://169.254.169.254 */
    int imds_disabled;               /* AWS_EC2_METADATA_DISABLED=true */
};

/* Fills *cfg. Region: region_flag (may be NULL), else AWS_REGION, else AWS_DEFAULT_REGION;
 * none is CORE_E_INVAL naming all three. Endpoints, per service: AWS_ENDPOINT_URL_<SVC>
 * (EC2, SSM, STS), else AWS_ENDPOINT_URL, else https://<svc>.<region>.amazonaws.com
 * (amazonaws.com.cn for cn-* regions). IMDS: AWS_EC2_METADATA_SERVICE_ENDPOINT. Every URL must
 * be http(s)://host[:port] with an optional path; anything else is CORE_E_INVAL naming the
 * variable and the expectation. *cfg is written only on success. */
int aws_config_resolve(struct aws_config *cfg, const struct aws_env *env, const char *region_flag,
                       struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Credentials chain                                                                           */
/* ------------------------------------------------------------------------------------------ */

enum aws_creds_source {
    AWS_CREDS_NONE = 0,
    AWS_CREDS_STATIC,       /* given by the program (the simulator's dummy keys, tests) */
    AWS_CREDS_ENV,          /* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN */
    AWS_CREDS_WEB_IDENTITY, /* IRSA: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE via STS */
    AWS_CREDS_CONTAINER,    /* EKS Pod Identity: AWS_CONTAINER_CREDENTIALS_FULL_URI */
    AWS_CREDS_SHARED_FILE,  /* ~/.aws/credentials and ~/.aws/config, AWS_PROFILE */
    AWS_CREDS_IMDS,         /* instance role through IMDSv2 */
};
/* "static", "environment", "web-identity", "container", "shared-file", "imds", "none". */
const char *aws_creds_source_name(enum aws_creds_source src);

/* Copies src into *dst (all strings duplicated). */
int aws_credentials_copy(struct aws_credentials *dst, const struct aws_credentials *src)
    CORE_NODISCARD;

struct aws_creds_opts {
    core_ns refresh_before;        /* refresh this long before expiry; default 5 min */
    const char *profile;           /* overrides AWS_PROFILE; default "default" */
    const char *role_session_name; /* web identity; default AWS_ROLE_SESSION_NAME or "stoker" */
    const char *home;              /* overrides $HOME for ~/.aws (tests) */
};

/* Produces credentials asynchronously, caching them. Opaque. */
struct aws_creds_provider;

/* The default chain, in this order, choosing the first source that is configured:
 * environment keys; web identity; container credentials; shared files (when the profile
 * exists in either file); IMDSv2 (unless disabled). A configured source that fails is an
 * error that names it; the chain does not silently fall through to the next. loop, t, env and
 * cfg are borrowed and must outlive the provider; opts is copied (its strings too). */
int aws_creds_chain_new(struct core_loop *loop, struct core_http_transport *t,
                        const struct aws_env *env, const struct aws_config *cfg,
                        const struct aws_creds_opts *opts, struct aws_creds_provider **out,
                        struct core_err *err) CORE_NODISCARD;
/* A provider that always answers with a copy of creds (borrowed; copied here). */
int aws_creds_static_new(struct core_loop *loop, const struct aws_credentials *creds,
                         struct aws_creds_provider **out, struct core_err *err) CORE_NODISCARD;
/* Cancels fetches in flight (their callbacks are not called) and frees. Accepts NULL. */
void aws_creds_provider_free(struct aws_creds_provider *p);

/* creds is borrowed for the duration of the callback; copy with aws_credentials_copy to keep
 * them. On failure creds is NULL and err says which source failed and why. */
typedef void (*aws_creds_fn)(void *ud, int rc, const struct aws_credentials *creds,
                             const struct core_err *err);
/* Asks for credentials. The callback always runs from the loop, never inside this call.
 * Cached credentials are answered while they are further than refresh_before from expiry;
 * otherwise one fetch is made and every waiting caller gets its result. When a refresh fails
 * but the cached credentials are still valid, they are answered. */
int aws_creds_get(struct aws_creds_provider *p, aws_creds_fn cb, void *ud,
                  struct core_err *err) CORE_NODISCARD;
/* Withdraws every pending aws_creds_get made with this (cb, ud): their callbacks will not run.
 * A client being freed uses it so no answer reaches freed memory. */
void aws_creds_cancel(struct aws_creds_provider *p, aws_creds_fn cb, void *ud);
/* The source chosen (AWS_CREDS_NONE until the first answer). For the controller's log line. */
enum aws_creds_source aws_creds_source(const struct aws_creds_provider *p);
/* Number of fetches made from the source (not cache hits). */
unsigned long aws_creds_fetches(const struct aws_creds_provider *p);

/* ------------------------------------------------------------------------------------------ */
/* Client: signing, retries, throttling                                                        */
/* ------------------------------------------------------------------------------------------ */

/* One client serves every service. Each call: wait for the action's rate limiter, get
 * credentials, sign (SigV4, headers), send through the transport, decode. Retryable failures
 * (throttling codes, HTTP 500/502/503/504, timeouts and connection failures, and with
 * AWS_CALL_RETRY_NOT_FOUND the eventual-consistency "NotFound" codes) are retried with capped
 * exponential backoff and full jitter, as long as attempts remain and the client's retry
 * quota allows; everything else surfaces at once with its service code. Opaque. */
struct aws_client;

struct aws_rate {
    const char *action; /* e.g. "RunInstances"; "*" matches every action of the service */
    double qps;         /* refill per second */
    unsigned burst;     /* bucket size */
};

struct aws_client_opts {
    unsigned max_attempts;    /* default 5 (1 = no retries) */
    core_ns backoff_base;     /* transient failures; default 100 ms */
    core_ns throttle_base;    /* throttling; default 500 ms */
    core_ns backoff_cap;      /* default 20 s */
    core_ns not_found_window; /* how long NotFound is retried for; default 2 min */
    unsigned retry_quota;     /* retry tokens: a retry costs 5 (10 after a timeout), a success
                                 returns 1; default 500 */
    uint64_t seed;            /* jitter PRNG seed; 0 = fixed default (deterministic) */
    size_t max_response;      /* bytes; default 16 MiB */
    core_ns timeout;          /* per attempt; default 30 s */
    const struct aws_rate *rates; /* per-action limits (copied); NULL = built-in EC2-like table */
    size_t nrates;
};

/* loop, t, creds and cfg are borrowed and must outlive the client. creds may be NULL for a
 * client that only makes AWS_CALL_UNSIGNED calls (the credentials chain's own STS client). */
int aws_client_new(struct core_loop *loop, struct core_http_transport *t,
                   struct aws_creds_provider *creds, const struct aws_config *cfg,
                   const struct aws_client_opts *opts, struct aws_client **out,
                   struct core_err *err) CORE_NODISCARD;
/* Completes every call in flight with CORE_E_CANCELLED (the callbacks run inside this call, so
 * layered calls can release their state; a call made from such a callback is refused), then
 * frees. Accepts NULL. */
void aws_client_free(struct aws_client *c);
/* The borrowed loop, for layers built on the client. */
struct core_loop *aws_client_loop(const struct aws_client *c);

enum aws_call_flags {
    AWS_CALL_UNSIGNED = 1 << 0,          /* no credentials, no signature (STS web identity) */
    AWS_CALL_RETRY_NOT_FOUND = 1 << 1,   /* retry *.NotFound for not_found_window */
};

/* Query protocol (EC2, STS): params are sent as the form body (Action and Version must be in
 * it). The XML answer is parsed as it streams in. root is borrowed for the callback. On a
 * service error rc is CORE_E_SERVICE (or CORE_E_THROTTLED / CORE_E_NOTFOUND / CORE_E_AUTH where
 * the code says so) and err has the HTTP status, code, message and request id; an answer that
 * is not AWS XML (a proxy's HTML page, a truncated body) is CORE_E_PARSE naming the service,
 * action and HTTP status. */
typedef void (*aws_query_fn)(void *ud, int rc, const struct aws_xml_node *root,
                             const struct core_err *err);
/* params is borrowed for the call (it is encoded at once). */
int aws_query_call(struct aws_client *c, enum aws_service svc, const struct aws_query *params,
                   unsigned flags, aws_query_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

/* JSON 1.1 protocol (SSM): target is "AmazonSSM.GetParameters"; body is borrowed (serialised at
 * once). result is borrowed for the callback (a jansson object). Errors from __type or
 * X-Amzn-ErrorType, as for the Query protocol. */
typedef void (*aws_json_fn)(void *ud, int rc, json_t *result, const struct core_err *err);
int aws_json_call(struct aws_client *c, enum aws_service svc, const char *target,
                  const json_t *body, unsigned flags, aws_json_fn cb, void *ud,
                  struct core_err *err) CORE_NODISCARD;

/* Counters by service and action, for metrics. Iterate with *iter = 0 until it returns 0. */
struct aws_action_stats {
    const char *service;
    const char *action;
    unsigned long calls;     /* calls made by callers */
    unsigned long attempts;  /* requests sent, retries included */
    unsigned long throttled; /* answers with a throttling code */
    unsigned long errors;    /* calls that ended in an error */
};
int aws_client_stats_next(const struct aws_client *c, size_t *iter, struct aws_action_stats *out);
/* Retries refused because the retry quota was spent. */
unsigned long aws_client_quota_refusals(const struct aws_client *c);

/* Classification of service error codes (exposed for the emulators' tests and the launcher). */
int aws_error_is_throttling(const char *code);
int aws_error_is_capacity(const char *code); /* ICE and friends: mark the offering unavailable */

/* ------------------------------------------------------------------------------------------ */
/* EC2 (Query protocol)                                                                        */
/* ------------------------------------------------------------------------------------------ */

/*
 * Typed EC2 actions. Each action comes in four parts, each testable on its own:
 *  - struct aws_ec2_<action>_req: the request; every pointer in it is borrowed for the call.
 *  - aws_ec2_<action>_encode: validates the request and adds Action, Version and every
 *    parameter to q (pure). A bad request is CORE_E_INVAL naming the action and the field
 *    (CORE_E_TOOBIG for user data over AWS_EC2_USER_DATA_MAX or more fleet overrides than
 *    AWS_EC2_FLEET_OVERRIDES_MAX); q is added to only on success. NULL or "" strings and zero
 *    numbers in a request mean "not sent".
 *  - aws_ec2_<action>_decode: turns the answer's XML tree (borrowed) into a result that owns its
 *    memory, APPENDING to what *out already holds so pages accumulate. The root must be
 *    <Action>Response; unknown elements are ignored; a missing required element, a malformed
 *    number, boolean or time is CORE_E_PARSE naming the action and the element path. On
 *    failure *out and *next_token are left exactly as they were.
 *  - aws_ec2_<action>: the asynchronous call over the client. The request is encoded (so
 *    copied) at once: the caller's request may go away when the call returns. A call that
 *    cannot start returns the error and never calls back; a started call calls back exactly
 *    once: from the loop, or with CORE_E_CANCELLED from aws_client_free. Describe*
 *    calls follow nextToken until the last page or max_pages pages (0 =
 *    AWS_EC2_MAX_PAGES_DEFAULT; a further page is CORE_E_TOOBIG naming the action) and
 *    deliver ONE merged result. res is borrowed for the callback and NULL when rc != 0; err
 *    is borrowed too and set when rc != 0 (the client's service code and request id pass
 *    through). cb is required; c and req must not be NULL (CORE_E_INVAL).
 * In results, strings are heap strings, NULL when the element is absent or empty (tag values
 * are "" rather than NULL); numbers and booleans are 0 when absent; times are wall-clock
 * core_ns, 0 when absent. Every _cleanup accepts NULL and a zeroed struct, and zeroes it.
 */

#define AWS_EC2_API_VERSION "2016-11-15"
#define AWS_EC2_USER_DATA_MAX 16384u     /* raw bytes, before base64 */
#define AWS_EC2_CLIENT_TOKEN_MAX 64u     /* ASCII characters */
#define AWS_EC2_FLEET_OVERRIDES_MAX 60u  /* overrides over all launch template configs */
#define AWS_EC2_MAX_PAGES_DEFAULT 100u

/* An optional boolean parameter: zero-initialised means "not sent". */
enum aws_ec2_bool { AWS_EC2_UNSET = 0, AWS_EC2_FALSE, AWS_EC2_TRUE };

/* A tag. In results both strings are owned (value is "" when empty). In requests both are
 * borrowed and never modified; the key is 1..128 characters and must not start with "aws:",
 * the value at most 256 characters (NULL is sent as ""). */
struct aws_ec2_tag {
    char *key;
    char *value;
};
struct aws_ec2_tags {
    struct aws_ec2_tag *v;
    size_t n;
};
/* An owned list of owned strings. */
struct aws_ec2_strings {
    char **v;
    size_t n;
};

/* Request side, all borrowed. Filter.N.Name / Filter.N.Value.M; at least one value. */
struct aws_ec2_filter {
    const char *name;
    const char *const *values;
    size_t nvalues;
};
/* TagSpecification.N.ResourceType + .Tag.M.Key/.Value ("instance", "volume",
 * "launch-template", "fleet", ...). */
struct aws_ec2_tag_spec {
    const char *resource_type;
    const struct aws_ec2_tag *tags;
    size_t ntags;
};
/* BlockDeviceMapping.N.*: an EBS volume. Zero numbers and NULL strings are not sent. */
struct aws_ec2_block_device {
    const char *device_name; /* required, e.g. "/dev/xvda" */
    int64_t volume_size;     /* GiB */
    const char *volume_type; /* "gp3", "io2", ... */
    enum aws_ec2_bool encrypted;
    enum aws_ec2_bool delete_on_termination;
    int64_t iops;
    int64_t throughput; /* MiB/s, gp3 */
};
/* MetadataOptions.*: NULL / 0 are not sent. */
struct aws_ec2_metadata_options {
    const char *http_tokens;             /* "required" | "optional" */
    int64_t http_put_response_hop_limit; /* 1..64 */
};

/* ---- results ---- */

struct aws_ec2_instance {
    char *instance_id; /* required */
    char *instance_type;
    char *image_id;
    char *state_name; /* instanceState/name, required: pending, running, stopping, ... */
    int64_t state_code; /* instanceState/code, required */
    char *state_reason_code; /* stateReason/code, e.g. "Client.UserInitiatedHibernate" */
    char *state_reason_message;
    char *state_transition_reason; /* <reason> */
    char *subnet_id;
    char *vpc_id;
    char *availability_zone; /* placement/availabilityZone */
    char *private_ip;        /* privateIpAddress */
    char *private_dns_name;
    core_ns launch_time;
    char *architecture;
    char *lifecycle; /* instanceLifecycle: "spot", or NULL for on-demand */
    char *spot_instance_request_id;
    char *iam_instance_profile_arn;
    int hibernation_configured;
    char *client_token;
    struct aws_ec2_tags tags;
};
struct aws_ec2_instances {
    struct aws_ec2_instance *v;
    size_t n;
};
void aws_ec2_instances_cleanup(struct aws_ec2_instances *r);

struct aws_ec2_gpu {
    char *name;
    char *manufacturer;
    int64_t count;
    int64_t memory_mib; /* memoryInfo/sizeInMiB, per GPU */
};
struct aws_ec2_accelerator {
    char *name;
    int64_t count;
};
struct aws_ec2_instance_type {
    char *instance_type; /* required */
    int current_generation;
    struct aws_ec2_strings usage_classes; /* supportedUsageClasses: "on-demand", "spot" */
    struct aws_ec2_strings architectures; /* processorInfo/supportedArchitectures */
    double clock_ghz;                     /* processorInfo/sustainedClockSpeedInGhz */
    int64_t vcpus;                        /* vCpuInfo/defaultVCpus, required */
    int64_t memory_mib;                   /* memoryInfo/sizeInMiB, required */
    struct aws_ec2_gpu *gpus;             /* gpuInfo/gpus */
    size_t ngpus;
    int64_t gpu_memory_mib;               /* gpuInfo/totalGpuMemoryInMiB */
    struct aws_ec2_accelerator *inference; /* inferenceAcceleratorInfo/accelerators */
    size_t ninference;
    struct aws_ec2_accelerator *neuron;   /* neuronInfo/neuronDevices */
    size_t nneuron;
    int64_t max_network_interfaces;       /* networkInfo/maximumNetworkInterfaces */
    int64_t ipv4_per_interface;           /* networkInfo/ipv4AddressesPerInterface */
    char *network_performance;            /* networkInfo/networkPerformance */
    int encryption_in_transit;            /* networkInfo/encryptionInTransitSupported */
    int instance_storage_supported;
    int64_t instance_storage_gb;          /* instanceStorageInfo/totalSizeInGB */
    int hibernation_supported;
    int bare_metal;
    char *hypervisor;                     /* "nitro", "xen", NULL for metal */
    int64_t ebs_max_bandwidth_mbps;       /* ebsInfo/ebsOptimizedInfo/maximumBandwidthInMbps */
};
struct aws_ec2_instance_types {
    struct aws_ec2_instance_type *v;
    size_t n;
};
void aws_ec2_instance_types_cleanup(struct aws_ec2_instance_types *r);

struct aws_ec2_offering {
    char *instance_type; /* required */
    char *location_type; /* "region", "availability-zone", "availability-zone-id" */
    char *location;      /* required */
};
struct aws_ec2_offerings {
    struct aws_ec2_offering *v;
    size_t n;
};
void aws_ec2_offerings_cleanup(struct aws_ec2_offerings *r);

struct aws_ec2_subnet {
    char *subnet_id;         /* required */
    char *vpc_id;
    char *availability_zone; /* required */
    char *availability_zone_id;
    int64_t available_ips;   /* availableIpAddressCount */
    char *cidr_block;
    int map_public_ip_on_launch;
    struct aws_ec2_tags tags;
};
struct aws_ec2_subnets {
    struct aws_ec2_subnet *v;
    size_t n;
};
void aws_ec2_subnets_cleanup(struct aws_ec2_subnets *r);

struct aws_ec2_security_group {
    char *group_id; /* required */
    char *group_name;
    char *description; /* groupDescription */
    char *vpc_id;
    struct aws_ec2_tags tags;
};
struct aws_ec2_security_groups {
    struct aws_ec2_security_group *v;
    size_t n;
};
void aws_ec2_security_groups_cleanup(struct aws_ec2_security_groups *r);

struct aws_ec2_image {
    char *image_id; /* required */
    char *name;
    char *description;
    char *architecture;
    core_ns creation_date;
    core_ns deprecation_time;
    char *state;       /* imageState: "available", ... */
    char *owner_id;    /* imageOwnerId */
    char *owner_alias; /* imageOwnerAlias: "amazon", ... */
    char *platform_details;
    char *root_device_name;
    struct aws_ec2_tags tags;
};
struct aws_ec2_images {
    struct aws_ec2_image *v;
    size_t n;
};
void aws_ec2_images_cleanup(struct aws_ec2_images *r);

struct aws_ec2_spot_price {
    char *instance_type;     /* required */
    char *availability_zone; /* required */
    char *product_description;
    double spot_price;       /* USD per hour, required */
    core_ns timestamp;
};
struct aws_ec2_spot_prices {
    struct aws_ec2_spot_price *v;
    size_t n;
};
void aws_ec2_spot_prices_cleanup(struct aws_ec2_spot_prices *r);

struct aws_ec2_launch_template {
    char *launch_template_id; /* required */
    char *launch_template_name;
    core_ns create_time;
    int64_t default_version;
    int64_t latest_version;
    struct aws_ec2_tags tags;
};
struct aws_ec2_launch_templates {
    struct aws_ec2_launch_template *v;
    size_t n;
};
void aws_ec2_launch_templates_cleanup(struct aws_ec2_launch_templates *r);

/* launchTemplateAndOverrides/overrides of a CreateFleet instance set or error. */
struct aws_ec2_fleet_overrides {
    char *instance_type;
    char *subnet_id;
    char *availability_zone;
    char *image_id;
    char *max_price;
    double priority;
};
struct aws_ec2_fleet_instance {
    struct aws_ec2_strings instance_ids;
    char *instance_type;
    char *lifecycle; /* "spot" | "on-demand" */
    struct aws_ec2_fleet_overrides overrides;
};
struct aws_ec2_fleet_error {
    char *code; /* errorCode, required */
    char *message;
    char *lifecycle;
    struct aws_ec2_fleet_overrides overrides;
};
struct aws_ec2_fleet {
    char *fleet_id; /* required */
    struct aws_ec2_fleet_instance *instances;
    size_t ninstances;
    struct aws_ec2_fleet_error *errors;
    size_t nerrors;
};
void aws_ec2_fleet_cleanup(struct aws_ec2_fleet *r);
/* 1 when the error says the offering has no capacity for now (aws_error_is_capacity on its
 * code); 0 otherwise or for NULL. */
int aws_ec2_fleet_error_is_capacity(const struct aws_ec2_fleet_error *e);

struct aws_ec2_state_change {
    char *instance_id;      /* required */
    char *current_name;     /* currentState/name, required */
    int64_t current_code;   /* currentState/code, required */
    char *previous_name;
    int64_t previous_code;
};
struct aws_ec2_state_changes {
    struct aws_ec2_state_change *v;
    size_t n;
};
void aws_ec2_state_changes_cleanup(struct aws_ec2_state_changes *r);

/* Callbacks: res is borrowed for the callback and NULL when rc != 0; err is set when rc != 0. */
typedef void (*aws_ec2_instances_fn)(void *ud, int rc, const struct aws_ec2_instances *res,
                                     const struct core_err *err);
typedef void (*aws_ec2_instance_types_fn)(void *ud, int rc,
                                          const struct aws_ec2_instance_types *res,
                                          const struct core_err *err);
typedef void (*aws_ec2_offerings_fn)(void *ud, int rc, const struct aws_ec2_offerings *res,
                                     const struct core_err *err);
typedef void (*aws_ec2_subnets_fn)(void *ud, int rc, const struct aws_ec2_subnets *res,
                                   const struct core_err *err);
typedef void (*aws_ec2_security_groups_fn)(void *ud, int rc,
                                           const struct aws_ec2_security_groups *res,
                                           const struct core_err *err);
typedef void (*aws_ec2_images_fn)(void *ud, int rc, const struct aws_ec2_images *res,
                                  const struct core_err *err);
typedef void (*aws_ec2_spot_prices_fn)(void *ud, int rc, const struct aws_ec2_spot_prices *res,
                                       const struct core_err *err);
typedef void (*aws_ec2_launch_templates_fn)(void *ud, int rc,
                                            const struct aws_ec2_launch_templates *res,
                                            const struct core_err *err);
typedef void (*aws_ec2_fleet_fn)(void *ud, int rc, const struct aws_ec2_fleet *res,
                                 const struct core_err *err);
typedef void (*aws_ec2_state_changes_fn)(void *ud, int rc,
                                         const struct aws_ec2_state_changes *res,
                                         const struct core_err *err);
/* Actions that answer only <return>true</return>. */
typedef void (*aws_ec2_done_fn)(void *ud, int rc, const struct core_err *err);

/* ---- DescribeInstances: InstanceId.N, Filter.N, MaxResults 5..1000 (not with ids) ---- */
struct aws_ec2_describe_instances_req {
    const char *const *instance_ids;
    size_t ninstance_ids;
    const struct aws_ec2_filter *filters;
    size_t nfilters;
    int64_t max_results; /* 0 = not sent */
    unsigned max_pages;  /* 0 = AWS_EC2_MAX_PAGES_DEFAULT */
    int retry_not_found; /* right after a launch: retry InvalidInstanceID.NotFound */
};
/* next_token (borrowed, may be NULL) becomes NextToken. *next_token from a decoder is a heap
 * string the caller frees (NULL on the last page). */
int aws_ec2_describe_instances_encode(const struct aws_ec2_describe_instances_req *req,
                                      const char *next_token, struct aws_query *q,
                                      struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_instances_decode(const struct aws_xml_node *root,
                                      struct aws_ec2_instances *out, char **next_token,
                                      struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_instances(struct aws_client *c,
                               const struct aws_ec2_describe_instances_req *req,
                               aws_ec2_instances_fn cb, void *ud,
                               struct core_err *err) CORE_NODISCARD;

/* ---- DescribeInstanceTypes: InstanceType.N, Filter.N, MaxResults 5..100 ---- */
struct aws_ec2_describe_instance_types_req {
    const char *const *instance_types;
    size_t ninstance_types;
    const struct aws_ec2_filter *filters;
    size_t nfilters;
    int64_t max_results;
    unsigned max_pages;
};
int aws_ec2_describe_instance_types_encode(const struct aws_ec2_describe_instance_types_req *req,
                                           const char *next_token, struct aws_query *q,
                                           struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_instance_types_decode(const struct aws_xml_node *root,
                                           struct aws_ec2_instance_types *out,
                                           char **next_token, struct core_err *err)
    CORE_NODISCARD;
int aws_ec2_describe_instance_types(struct aws_client *c,
                                    const struct aws_ec2_describe_instance_types_req *req,
                                    aws_ec2_instance_types_fn cb, void *ud,
                                    struct core_err *err) CORE_NODISCARD;

/* ---- DescribeInstanceTypeOfferings: LocationType, Filter.N, MaxResults 5..1000 ---- */
struct aws_ec2_describe_instance_type_offerings_req {
    const char *location_type; /* NULL (region) | "region" | "availability-zone" |
                                  "availability-zone-id" */
    const struct aws_ec2_filter *filters;
    size_t nfilters;
    int64_t max_results;
    unsigned max_pages;
};
int aws_ec2_describe_instance_type_offerings_encode(
    const struct aws_ec2_describe_instance_type_offerings_req *req, const char *next_token,
    struct aws_query *q, struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_instance_type_offerings_decode(const struct aws_xml_node *root,
                                                    struct aws_ec2_offerings *out,
                                                    char **next_token, struct core_err *err)
    CORE_NODISCARD;
int aws_ec2_describe_instance_type_offerings(
    struct aws_client *c, const struct aws_ec2_describe_instance_type_offerings_req *req,
    aws_ec2_offerings_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

/* ---- DescribeSubnets: SubnetId.N, Filter.N, MaxResults 5..1000 ---- */
struct aws_ec2_describe_subnets_req {
    const char *const *subnet_ids;
    size_t nsubnet_ids;
    const struct aws_ec2_filter *filters;
    size_t nfilters;
    int64_t max_results;
    unsigned max_pages;
};
int aws_ec2_describe_subnets_encode(const struct aws_ec2_describe_subnets_req *req,
                                    const char *next_token, struct aws_query *q,
                                    struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_subnets_decode(const struct aws_xml_node *root, struct aws_ec2_subnets *out,
                                    char **next_token, struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_subnets(struct aws_client *c, const struct aws_ec2_describe_subnets_req *req,
                             aws_ec2_subnets_fn cb, void *ud,
                             struct core_err *err) CORE_NODISCARD;

/* ---- DescribeSecurityGroups: GroupId.N, GroupName.N, Filter.N, MaxResults 5..1000 ---- */
struct aws_ec2_describe_security_groups_req {
    const char *const *group_ids;
    size_t ngroup_ids;
    const char *const *group_names;
    size_t ngroup_names;
    const struct aws_ec2_filter *filters;
    size_t nfilters;
    int64_t max_results;
    unsigned max_pages;
};
int aws_ec2_describe_security_groups_encode(
    const struct aws_ec2_describe_security_groups_req *req, const char *next_token,
    struct aws_query *q, struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_security_groups_decode(const struct aws_xml_node *root,
                                            struct aws_ec2_security_groups *out,
                                            char **next_token, struct core_err *err)
    CORE_NODISCARD;
int aws_ec2_describe_security_groups(struct aws_client *c,
                                     const struct aws_ec2_describe_security_groups_req *req,
                                     aws_ec2_security_groups_fn cb, void *ud,
                                     struct core_err *err) CORE_NODISCARD;

/* ---- DescribeImages: ImageId.N, Owner.N, ExecutableBy.N, Filter.N, IncludeDeprecated,
 *      MaxResults 1..1000 ---- */
struct aws_ec2_describe_images_req {
    const char *const *image_ids;
    size_t nimage_ids;
    const char *const *owners; /* account ids, "self", "amazon", "aws-marketplace" */
    size_t nowners;
    const char *const *executable_by;
    size_t nexecutable_by;
    const struct aws_ec2_filter *filters;
    size_t nfilters;
    enum aws_ec2_bool include_deprecated;
    int64_t max_results;
    unsigned max_pages;
};
int aws_ec2_describe_images_encode(const struct aws_ec2_describe_images_req *req,
                                   const char *next_token, struct aws_query *q,
                                   struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_images_decode(const struct aws_xml_node *root, struct aws_ec2_images *out,
                                   char **next_token, struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_images(struct aws_client *c, const struct aws_ec2_describe_images_req *req,
                            aws_ec2_images_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

/* ---- DescribeSpotPriceHistory: InstanceType.N, ProductDescription.N, AvailabilityZone,
 *      StartTime, EndTime, Filter.N, MaxResults 1..1000 ---- */
struct aws_ec2_describe_spot_price_history_req {
    const char *const *instance_types;
    size_t ninstance_types;
    const char *const *product_descriptions; /* "Linux/UNIX", ... */
    size_t nproduct_descriptions;
    const char *availability_zone;
    core_ns start_time; /* wall time; 0 = not sent */
    core_ns end_time;
    const struct aws_ec2_filter *filters;
    size_t nfilters;
    int64_t max_results;
    unsigned max_pages;
};
int aws_ec2_describe_spot_price_history_encode(
    const struct aws_ec2_describe_spot_price_history_req *req, const char *next_token,
    struct aws_query *q, struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_spot_price_history_decode(const struct aws_xml_node *root,
                                               struct aws_ec2_spot_prices *out,
                                               char **next_token, struct core_err *err)
    CORE_NODISCARD;
int aws_ec2_describe_spot_price_history(
    struct aws_client *c, const struct aws_ec2_describe_spot_price_history_req *req,
    aws_ec2_spot_prices_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

/* ---- DescribeLaunchTemplates: LaunchTemplateId.N, LaunchTemplateName.N, Filter.N,
 *      MaxResults 1..200 ---- */
struct aws_ec2_describe_launch_templates_req {
    const char *const *ids;
    size_t nids;
    const char *const *names;
    size_t nnames;
    const struct aws_ec2_filter *filters;
    size_t nfilters;
    int64_t max_results;
    unsigned max_pages;
};
int aws_ec2_describe_launch_templates_encode(
    const struct aws_ec2_describe_launch_templates_req *req, const char *next_token,
    struct aws_query *q, struct core_err *err) CORE_NODISCARD;
int aws_ec2_describe_launch_templates_decode(const struct aws_xml_node *root,
                                             struct aws_ec2_launch_templates *out,
                                             char **next_token, struct core_err *err)
    CORE_NODISCARD;
int aws_ec2_describe_launch_templates(struct aws_client *c,
                                      const struct aws_ec2_describe_launch_templates_req *req,
                                      aws_ec2_launch_templates_fn cb, void *ud,
                                      struct core_err *err) CORE_NODISCARD;

/* ---- CreateLaunchTemplate ---- */
/* LaunchTemplateData.*: everything optional; user data is raw bytes (at most
 * AWS_EC2_USER_DATA_MAX), base64-encoded here. At most one of the profile name and ARN. */
struct aws_ec2_launch_template_data {
    const char *image_id;
    const char *instance_type;
    const char *key_name;
    const void *user_data;
    size_t user_data_len;
    const char *const *security_group_ids;
    size_t nsecurity_group_ids;
    const char *iam_instance_profile_name;
    const char *iam_instance_profile_arn;
    const struct aws_ec2_block_device *block_devices;
    size_t nblock_devices;
    struct aws_ec2_metadata_options metadata;
    enum aws_ec2_bool hibernation_configured;
    const struct aws_ec2_tag_spec *tag_specs; /* "instance", "volume", "network-interface",
                                                 "spot-instances-request" */
    size_t ntag_specs;
};
struct aws_ec2_create_launch_template_req {
    const char *name; /* required: 3..128 of [A-Za-z0-9().-/_] */
    const char *client_token;
    const char *version_description;
    struct aws_ec2_launch_template_data data;
    const struct aws_ec2_tag_spec *tag_specs; /* for the template ("launch-template") */
    size_t ntag_specs;
};
int aws_ec2_create_launch_template_encode(const struct aws_ec2_create_launch_template_req *req,
                                          struct aws_query *q,
                                          struct core_err *err) CORE_NODISCARD;
/* Appends the created template (<launchTemplate>) to out. */
int aws_ec2_create_launch_template_decode(const struct aws_xml_node *root,
                                          struct aws_ec2_launch_templates *out,
                                          struct core_err *err) CORE_NODISCARD;
int aws_ec2_create_launch_template(struct aws_client *c,
                                   const struct aws_ec2_create_launch_template_req *req,
                                   aws_ec2_launch_templates_fn cb, void *ud,
                                   struct core_err *err) CORE_NODISCARD;

/* ---- DeleteLaunchTemplate: exactly one of id and name ---- */
struct aws_ec2_delete_launch_template_req {
    const char *id;
    const char *name;
};
int aws_ec2_delete_launch_template_encode(const struct aws_ec2_delete_launch_template_req *req,
                                          struct aws_query *q,
                                          struct core_err *err) CORE_NODISCARD;
/* Appends the deleted template to out. */
int aws_ec2_delete_launch_template_decode(const struct aws_xml_node *root,
                                          struct aws_ec2_launch_templates *out,
                                          struct core_err *err) CORE_NODISCARD;
int aws_ec2_delete_launch_template(struct aws_client *c,
                                   const struct aws_ec2_delete_launch_template_req *req,
                                   aws_ec2_launch_templates_fn cb, void *ud,
                                   struct core_err *err) CORE_NODISCARD;

/* ---- CreateFleet, Type=instant ---- */
/* LaunchTemplateConfigs.N.Overrides.M.*: NULL strings are not sent; priority only when
 * has_priority (lower = preferred with the "prioritized" strategy). */
struct aws_ec2_fleet_override {
    const char *instance_type;
    const char *subnet_id;
    const char *availability_zone;
    const char *image_id;
    const char *max_price; /* USD per hour, decimal text */
    int has_priority;
    double priority; /* >= 0 */
};
/* LaunchTemplateConfigs.N: the template (exactly one of id and name; version NULL = not sent,
 * which means the default version) and its overrides. */
struct aws_ec2_fleet_template_config {
    const char *launch_template_id;
    const char *launch_template_name;
    const char *version;
    const struct aws_ec2_fleet_override *overrides;
    size_t noverrides;
};
struct aws_ec2_create_fleet_req {
    const struct aws_ec2_fleet_template_config *configs; /* at least one */
    size_t nconfigs;
    int64_t total_target_capacity;              /* >= 1 */
    const char *default_target_capacity_type;   /* required: "on-demand" | "spot" */
    const char *on_demand_allocation_strategy;  /* NULL | "lowest-price" | "prioritized" */
    const char *spot_allocation_strategy;       /* NULL | "price-capacity-optimized" |
                                                   "lowest-price" | "capacity-optimized" */
    const struct aws_ec2_tag_spec *tag_specs;   /* "instance", "volume", "fleet",
                                                   "network-interface" */
    size_t ntag_specs;
    const char *client_token;
};
int aws_ec2_create_fleet_encode(const struct aws_ec2_create_fleet_req *req, struct aws_query *q,
                                struct core_err *err) CORE_NODISCARD;
/* Appends instances and errors; sets out->fleet_id when it has none yet. */
int aws_ec2_create_fleet_decode(const struct aws_xml_node *root, struct aws_ec2_fleet *out,
                                struct core_err *err) CORE_NODISCARD;
int aws_ec2_create_fleet(struct aws_client *c, const struct aws_ec2_create_fleet_req *req,
                         aws_ec2_fleet_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

/* ---- RunInstances ---- */
struct aws_ec2_run_instances_req {
    const char *image_id; /* required unless a launch template is given */
    const char *instance_type;
    int64_t min_count; /* >= 1 */
    int64_t max_count; /* >= min_count */
    const char *subnet_id;
    const char *const *security_group_ids;
    size_t nsecurity_group_ids;
    const void *user_data; /* raw bytes, base64-encoded here; at most AWS_EC2_USER_DATA_MAX */
    size_t user_data_len;
    const char *iam_instance_profile_name; /* at most one of name and ARN */
    const char *iam_instance_profile_arn;
    const char *launch_template_id;
    const char *launch_template_version;
    enum aws_ec2_bool hibernation_configured;
    const struct aws_ec2_block_device *block_devices;
    size_t nblock_devices;
    struct aws_ec2_metadata_options metadata;
    const struct aws_ec2_tag_spec *tag_specs; /* "instance", "volume", "network-interface",
                                                 "spot-instances-request" */
    size_t ntag_specs;
    const char *client_token; /* idempotency: at most AWS_EC2_CLIENT_TOKEN_MAX printable ASCII */
};
int aws_ec2_run_instances_encode(const struct aws_ec2_run_instances_req *req,
                                 struct aws_query *q, struct core_err *err) CORE_NODISCARD;
int aws_ec2_run_instances_decode(const struct aws_xml_node *root, struct aws_ec2_instances *out,
                                 struct core_err *err) CORE_NODISCARD;
int aws_ec2_run_instances(struct aws_client *c, const struct aws_ec2_run_instances_req *req,
                          aws_ec2_instances_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

/* ---- StartInstances / StopInstances / TerminateInstances: InstanceId.N (at least one) ---- */
struct aws_ec2_start_instances_req {
    const char *const *instance_ids;
    size_t ninstance_ids;
};
struct aws_ec2_stop_instances_req {
    const char *const *instance_ids;
    size_t ninstance_ids;
    int hibernate; /* Hibernate=true */
    int force;     /* Force=true */
};
struct aws_ec2_terminate_instances_req {
    const char *const *instance_ids;
    size_t ninstance_ids;
};
int aws_ec2_start_instances_encode(const struct aws_ec2_start_instances_req *req,
                                   struct aws_query *q, struct core_err *err) CORE_NODISCARD;
int aws_ec2_start_instances_decode(const struct aws_xml_node *root,
                                   struct aws_ec2_state_changes *out,
                                   struct core_err *err) CORE_NODISCARD;
int aws_ec2_start_instances(struct aws_client *c, const struct aws_ec2_start_instances_req *req,
                            aws_ec2_state_changes_fn cb, void *ud,
                            struct core_err *err) CORE_NODISCARD;
int aws_ec2_stop_instances_encode(const struct aws_ec2_stop_instances_req *req,
                                  struct aws_query *q, struct core_err *err) CORE_NODISCARD;
int aws_ec2_stop_instances_decode(const struct aws_xml_node *root,
                                  struct aws_ec2_state_changes *out,
                                  struct core_err *err) CORE_NODISCARD;
int aws_ec2_stop_instances(struct aws_client *c, const struct aws_ec2_stop_instances_req *req,
                           aws_ec2_state_changes_fn cb, void *ud,
                           struct core_err *err) CORE_NODISCARD;
int aws_ec2_terminate_instances_encode(const struct aws_ec2_terminate_instances_req *req,
                                       struct aws_query *q, struct core_err *err) CORE_NODISCARD;
int aws_ec2_terminate_instances_decode(const struct aws_xml_node *root,
                                       struct aws_ec2_state_changes *out,
                                       struct core_err *err) CORE_NODISCARD;
int aws_ec2_terminate_instances(struct aws_client *c,
                                const struct aws_ec2_terminate_instances_req *req,
                                aws_ec2_state_changes_fn cb, void *ud,
                                struct core_err *err) CORE_NODISCARD;

/* ---- ModifyInstanceAttribute: InstanceId + UserData.Value (the instance must be stopped) ---- */
struct aws_ec2_modify_instance_attribute_req {
    const char *instance_id;
    const void *user_data; /* raw bytes, base64-encoded here; at most AWS_EC2_USER_DATA_MAX */
    size_t user_data_len;
};
int aws_ec2_modify_instance_attribute_encode(
    const struct aws_ec2_modify_instance_attribute_req *req, struct aws_query *q,
    struct core_err *err) CORE_NODISCARD;
/* Checks the root and <return>true</return>; return=false is CORE_E_SERVICE. */
int aws_ec2_modify_instance_attribute_decode(const struct aws_xml_node *root,
                                             struct core_err *err) CORE_NODISCARD;
int aws_ec2_modify_instance_attribute(struct aws_client *c,
                                      const struct aws_ec2_modify_instance_attribute_req *req,
                                      aws_ec2_done_fn cb, void *ud,
                                      struct core_err *err) CORE_NODISCARD;

/* ---- CreateTags: ResourceId.N, Tag.N.Key/Value (at least one of each) ---- */
struct aws_ec2_create_tags_req {
    const char *const *resource_ids;
    size_t nresource_ids;
    const struct aws_ec2_tag *tags;
    size_t ntags;
};
int aws_ec2_create_tags_encode(const struct aws_ec2_create_tags_req *req, struct aws_query *q,
                               struct core_err *err) CORE_NODISCARD;
int aws_ec2_create_tags_decode(const struct aws_xml_node *root,
                               struct core_err *err) CORE_NODISCARD;
int aws_ec2_create_tags(struct aws_client *c, const struct aws_ec2_create_tags_req *req,
                        aws_ec2_done_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* SSM (JSON 1.1)                                                                              */
/* ------------------------------------------------------------------------------------------ */

#define AWS_SSM_BATCH_MAX 10u /* names per GetParameters call */

struct aws_ssm_parameter {
    char *name;
    char *type;      /* "String", "StringList", "SecureString" */
    char *value;
    char *data_type; /* "text", "aws:ec2:image" */
    char *arn;
    int64_t version;
    core_ns last_modified; /* wall time */
};

/* Owned arrays; aws_ssm_parameters_cleanup frees everything. */
struct aws_ssm_parameters {
    struct aws_ssm_parameter *v;
    size_t n;
    char **invalid; /* names GetParameters reported as InvalidParameters */
    size_t ninvalid;
};
void aws_ssm_parameters_cleanup(struct aws_ssm_parameters *p);

/* res is borrowed for the callback. */
typedef void (*aws_ssm_fn)(void *ud, int rc, const struct aws_ssm_parameters *res,
                           const struct core_err *err);
/* One parameter; ParameterNotFound is CORE_E_NOTFOUND with the name in the message. */
int aws_ssm_get_parameter(struct aws_client *c, const char *name, aws_ssm_fn cb, void *ud,
                          struct core_err *err) CORE_NODISCARD;
/* Any number of names, sent in batches of AWS_SSM_BATCH_MAX (concurrently); the answer merges
 * them in the order of the names given; unknown names land in res->invalid, not in an error. */
int aws_ssm_get_parameters(struct aws_client *c, const char *const *names, size_t n,
                           aws_ssm_fn cb, void *ud, struct core_err *err) CORE_NODISCARD;
/* Every parameter under path, following NextToken up to max_pages (0 = 100). */
int aws_ssm_get_parameters_by_path(struct aws_client *c, const char *path, int recursive,
                                   unsigned max_pages, aws_ssm_fn cb, void *ud,
                                   struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* STS (Query protocol)                                                                        */
/* ------------------------------------------------------------------------------------------ */

/* creds is borrowed for the callback. */
typedef void (*aws_sts_creds_fn)(void *ud, int rc, const struct aws_credentials *creds,
                                 const struct core_err *err);
/* AssumeRoleWithWebIdentity, unsigned. token is the OIDC token (never logged, never put into
 * an error message). All strings are borrowed for the call. */
int aws_sts_assume_role_with_web_identity(struct aws_client *c, const char *role_arn,
                                          const char *session_name, const char *token,
                                          core_ns duration, aws_sts_creds_fn cb, void *ud,
                                          struct core_err *err) CORE_NODISCARD;

struct aws_sts_identity {
    const char *account;
    const char *arn;
    const char *user_id;
};
/* id is borrowed for the callback. */
typedef void (*aws_sts_identity_fn)(void *ud, int rc, const struct aws_sts_identity *id,
                                    const struct core_err *err);
int aws_sts_get_caller_identity(struct aws_client *c, aws_sts_identity_fn cb, void *ud,
                                struct core_err *err) CORE_NODISCARD;

#endif /* STOKER_AWS_H */
