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
/* Cancels calls in flight without calling their callbacks. Accepts NULL. */
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
