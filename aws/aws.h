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
 * Sections: Credentials, Signature Version 4, EKS authentication token. Later sections (the
 * credentials chain, the service clients) are added below them.
 */
#ifndef STOKER_AWS_H
#define STOKER_AWS_H

#include "core/core.h"

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

#endif /* STOKER_AWS_H */
