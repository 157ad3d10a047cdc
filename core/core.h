/*
 * core/core.h — the public interface of stoker's core module.
 *
 * core owns what every other module stands on: errors, checked allocation, bounded buffers, a
 * string-keyed map, the injectable clock, the single-threaded event loop (curl multi + timer
 * min-heap + signal fd), the controllers' work queue, structured logging with redaction, and
 * the HTTP transport seam with its curl and scripted implementations.
 *
 * Invariants kept by everything declared here:
 *  - Functions that can fail return 0 or a negative code (CORE_E_* or a negative errno) and put
 *    detail into a caller-owned struct core_err when one is passed (it may be NULL).
 *  - Out-parameters are written only on success.
 *  - Every _free accepts NULL; every _cleanup accepts a zeroed struct.
 *  - Nothing here knows about AWS or Kubernetes, and nothing here logs except the logger.
 *  - All time comes from a struct core_clock; nothing reads the system clock behind its back.
 */
#ifndef STOKER_CORE_H
#define STOKER_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define CORE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CORE_NODISCARD __attribute__((warn_unused_result))
#else
#define CORE_PRINTF(f, a)
#define CORE_NODISCARD
#endif

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Project error codes. They sit below -1000 so they never collide with a negative errno. */
enum core_code {
    CORE_OK = 0,
    CORE_E_NOMEM = -1001,     /* an allocation failed */
    CORE_E_INVAL = -1002,     /* a caller passed something invalid */
    CORE_E_PARSE = -1003,     /* input from outside did not parse */
    CORE_E_TOOBIG = -1004,    /* input exceeded a configured limit */
    CORE_E_TIMEOUT = -1005,   /* a deadline passed */
    CORE_E_TRANSPORT = -1006, /* connection-level failure (DNS, refused, reset) */
    CORE_E_TLS = -1007,       /* TLS handshake or certificate verification failed */
    CORE_E_HTTP = -1008,      /* the server answered with an HTTP error status */
    CORE_E_THROTTLED = -1009, /* the server asked us to slow down */
    CORE_E_NOTFOUND = -1010,  /* the named thing does not exist */
    CORE_E_CONFLICT = -1011,  /* a write lost a race (e.g. resourceVersion) */
    CORE_E_AUTH = -1012,      /* credentials missing, expired or refused */
    CORE_E_CANCELLED = -1013, /* the operation was cancelled (shutdown, caller) */
    CORE_E_SERVICE = -1014,   /* a service-level error; see service_code */
    CORE_E_STATE = -1015,     /* the operation is not valid in the current state */
    CORE_E_UNSUPPORTED = -1016, /* a valid request that this build does not support */
};

#define CORE_ERR_MSG_MAX 512
#define CORE_ERR_CODE_MAX 128
#define CORE_ERR_REQID_MAX 128

/* Caller-owned error detail. Fixed-size so it can live on the stack and be copied. */
struct core_err {
    int code;                                /* CORE_E_* or negative errno; 0 = no error */
    long http_status;                        /* 0 when there was no HTTP answer */
    char service_code[CORE_ERR_CODE_MAX];    /* e.g. "RequestLimitExceeded", "NotFound" */
    char message[CORE_ERR_MSG_MAX];          /* human text: names object, field, expectation */
    char request_id[CORE_ERR_REQID_MAX];     /* the service's request id, when known */
};

/* Zeroes *err. Accepts NULL. */
void core_err_clear(struct core_err *err);
/* Sets code and a formatted message (truncated to fit) and clears the service fields;
 * returns code so callers can
 * `return core_err_set(err, CORE_E_PARSE, "...")`. err may be NULL. */
int core_err_set(struct core_err *err, int code, const char *fmt, ...) CORE_PRINTF(3, 4);
int core_err_setv(struct core_err *err, int code, const char *fmt, va_list ap) CORE_PRINTF(3, 0);
/* Prepends "prefix: " to the message, keeping the code. Used to add context on the way up. */
void core_err_prefix(struct core_err *err, const char *fmt, ...) CORE_PRINTF(2, 3);
/* Copies service fields (bounded). Any pointer may be NULL. */
void core_err_set_service(struct core_err *err, long http_status, const char *service_code,
                          const char *request_id);
/* Static text for a code (CORE_E_* or negative errno). Never NULL. */
const char *core_strerror(int code);

/* ------------------------------------------------------------------------------------------ */
/* Allocation                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Thin wrappers over the C allocator. They return NULL on failure (the caller checks and
 * propagates CORE_E_NOMEM). core_alloc_fail_after(n) makes the n-th allocation from now fail
 * (1 = the next one) and every later one succeed; 0 disables. It is process-wide test
 * configuration, the only mutable global in core, and not thread-safe: set it only while
 * no other thread allocates through these wrappers. */
void *core_malloc(size_t n);
void *core_calloc(size_t nmemb, size_t size);
void *core_realloc(void *p, size_t n);
char *core_strdup(const char *s);
char *core_strndup(const char *s, size_t n);
void core_free(void *p);
void core_alloc_fail_after(unsigned long n);
/* Number of allocations that were made to fail since the last core_alloc_fail_after(). */
unsigned long core_alloc_failures(void);

/* ------------------------------------------------------------------------------------------ */
/* Bounded growable buffer                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A byte buffer that is always NUL-terminated (data[len] == 0 once anything was added) and
 * never grows past `limit` bytes of content. Appending past the limit fails with
 * CORE_E_TOOBIG and leaves the buffer unchanged. Caller-owned: core_buf_init/core_buf_cleanup. */
struct core_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;
};

void core_buf_init(struct core_buf *b, size_t limit);
void core_buf_cleanup(struct core_buf *b);
/* Keeps the allocation, drops the content. */
void core_buf_reset(struct core_buf *b);
int core_buf_reserve(struct core_buf *b, size_t extra) CORE_NODISCARD;
int core_buf_append(struct core_buf *b, const void *p, size_t n) CORE_NODISCARD;
int core_buf_append_str(struct core_buf *b, const char *s) CORE_NODISCARD;
int core_buf_append_char(struct core_buf *b, char c) CORE_NODISCARD;
int core_buf_appendf(struct core_buf *b, const char *fmt, ...) CORE_PRINTF(2, 3) CORE_NODISCARD;
/* Returns the content as a NUL-terminated heap string the caller frees with core_free, and
 * leaves the buffer empty. Never NULL on success; an empty buffer yields "". */
int core_buf_steal(struct core_buf *b, char **out, size_t *len_out) CORE_NODISCARD;
/* A pointer to the content, "" when empty. Borrowed; valid until the next mutation. */
const char *core_buf_cstr(const struct core_buf *b);

/* Reads a whole regular file of at most limit bytes into a NUL-terminated heap string (*out,
 * freed by the caller with core_free; *len bytes). what and path name it in messages, which
 * never quote the content. A missing file is CORE_E_NOTFOUND, anything but a regular file
 * CORE_E_INVAL, over the limit CORE_E_TOOBIG. Memory that held the content and is dropped on
 * the way is wiped. */
int core_read_file(const char *what, const char *path, size_t limit, char **out, size_t *len,
                   struct core_err *err) CORE_NODISCARD;

/* Bounded string copy: copies at most dstsz-1 bytes and always terminates. Returns the length
 * of src, so a result >= dstsz means it was truncated. */
size_t core_strlcpy(char *dst, const char *src, size_t dstsz);
/* Parses a whole decimal integer in [min, max]; 0 or CORE_E_PARSE / CORE_E_INVAL. */
int core_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* ------------------------------------------------------------------------------------------ */
/* String-keyed hash map                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Keys are copied in; values are borrowed pointers the map never frees. Iteration order is
 * unspecified. Opaque. */
struct core_map;

struct core_map *core_map_new(void);
void core_map_free(struct core_map *m);
size_t core_map_len(const struct core_map *m);
/* Sets key -> val, replacing any previous value (the old value is written to *old if old is
 * not NULL and the key existed, else *old = NULL). */
int core_map_set(struct core_map *m, const char *key, void *val, void **old) CORE_NODISCARD;
/* Returns the value or NULL; *found tells a stored NULL from absence when found != NULL. */
void *core_map_get(const struct core_map *m, const char *key, int *found);
/* Removes key; returns its value (NULL if absent). */
void *core_map_del(struct core_map *m, const char *key);
/* Iteration: start with *iter = 0; returns 0 at the end. The map must not be modified during
 * iteration except through core_map_del of the current key. */
int core_map_next(const struct core_map *m, size_t *iter, const char **key, void **val);

/* ------------------------------------------------------------------------------------------ */
/* Clock                                                                                       */
/* ------------------------------------------------------------------------------------------ */

/* Time in nanoseconds. Monotonic time is for durations and timers; wall time is for what goes
 * on the wire or into objects (RFC 3339 stamps, SigV4 dates). */
typedef int64_t core_ns;
#define CORE_NS_PER_MS INT64_C(1000000)
#define CORE_NS_PER_S INT64_C(1000000000)

struct core_clock;

/* A real clock: CLOCK_MONOTONIC and CLOCK_REALTIME. */
struct core_clock *core_clock_real_new(void);
/* A virtual clock starting at the given times. Time moves only through core_clock_advance()
 * and core_clock_set(); the event loop moves it to the next timer when it has nothing to do. */
struct core_clock *core_clock_virtual_new(core_ns mono_start, core_ns wall_start);
void core_clock_free(struct core_clock *c);
core_ns core_clock_mono(const struct core_clock *c);
core_ns core_clock_wall(const struct core_clock *c);
int core_clock_is_virtual(const struct core_clock *c);
/* Virtual clocks only: move monotonic time forward by d (wall time moves with it).
 * CORE_E_STATE on a real clock, CORE_E_INVAL for d < 0. */
int core_clock_advance(struct core_clock *c, core_ns d);
/* Virtual clocks only: move monotonic time to t (never backwards). */
int core_clock_set_mono(struct core_clock *c, core_ns t);
/* Formats wall time as RFC 3339 UTC with seconds ("2026-11-22T13:24:38Z") into out
 * (at least 21 bytes). */
void core_time_rfc3339(core_ns wall, char *out, size_t outsz);
/* The same with microseconds, as Kubernetes MicroTime ("2026-11-22T13:24:38.123456Z"); out of
 * at least CORE_TIME_MICRO_LEN bytes. */
#define CORE_TIME_MICRO_LEN 32
void core_time_rfc3339_micro(core_ns wall, char *out, size_t outsz);
/* Parses an RFC 3339 / ISO 8601 date-time: "2026-11-22T13:24:38Z", with optional fractional
 * seconds and a "Z" or "+HH:MM"/"-HH:MM" offset (a space may stand for 'T'). The whole string
 * must match. *out (wall ns, UTC) is written only on success; CORE_E_PARSE otherwise. */
int core_time_parse_rfc3339(const char *s, core_ns *out);

/* ------------------------------------------------------------------------------------------ */
/* Logging                                                                                     */
/* ------------------------------------------------------------------------------------------ */

enum core_log_level { CORE_LOG_DEBUG = 0, CORE_LOG_INFO, CORE_LOG_WARN, CORE_LOG_ERROR };
enum core_log_format { CORE_LOG_LOGFMT = 0, CORE_LOG_JSON };

/* A structured logger writing one record per line to a FILE (or a capture buffer in tests).
 * Every record has ts, level, component, and optionally key (the object a record is about),
 * msg, then key/value fields. Values of sensitive fields are replaced by "[redacted]": a field
 * is sensitive when its name contains (case-insensitive) token, secret, password, passwd,
 * authorization, signature, credential, session, cookie, private, userdata or user_data; and
 * any value that looks like a bearer token, an EKS token, a SigV4 Authorization header or
 * a PEM private key is redacted whatever its field is called. Opaque. */
struct core_log;

struct core_log *core_log_new(void *stream /* FILE *, borrowed */, enum core_log_format fmt,
                              enum core_log_level min_level, const struct core_clock *clock);
/* A logger that appends records to an internal buffer (tests read it with core_log_captured). */
struct core_log *core_log_new_capture(enum core_log_format fmt, enum core_log_level min_level,
                                      const struct core_clock *clock);
void core_log_free(struct core_log *l);
/* Borrowed; the records written so far ("" for a stream logger). */
const char *core_log_captured(const struct core_log *l);
int core_log_level_parse(const char *s, enum core_log_level *out);
int core_log_format_parse(const char *s, enum core_log_format *out);
/* Writes one record. The variadic part is pairs of (const char *name, const char *value),
 * terminated by a single NULL. A NULL value prints as an empty string. */
void core_log_write(struct core_log *l, enum core_log_level level, const char *component,
                    const char *key, const char *msg, ...);
void core_log_writev(struct core_log *l, enum core_log_level level, const char *component,
                     const char *key, const char *msg, va_list kv);
/* The redaction rules, exposed for other sinks (events, status messages) and tests. */
int core_log_field_is_sensitive(const char *name);
int core_log_value_is_sensitive(const char *value);

/* ------------------------------------------------------------------------------------------ */
/* Event loop                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* One thread, one loop: a curl multi handle for every HTTP exchange, a timer min-heap, and a
 * signalfd for SIGTERM/SIGINT. Callbacks run on the loop's thread, one at a time. Opaque. */
struct core_loop;
struct core_timer;

typedef void (*core_timer_fn)(void *ud);
typedef void (*core_loop_shutdown_fn)(void *ud);
/* Completion of an easy handle added with core_loop_add_easy: result is the CURLcode. */
typedef void (*core_loop_easy_fn)(void *ud, int curl_result);

struct core_loop_opts {
    /* Watch SIGTERM/SIGINT through a signalfd. Blocks those signals in the calling thread:
     * create the loop before starting any other thread so they inherit the mask. */
    int handle_signals;
    /* After shutdown starts, in-flight HTTP exchanges get this long to finish before they are
     * cancelled (0 = default 10 s). */
    core_ns shutdown_grace;
};

/* clock is borrowed and must outlive the loop. opts may be NULL (no signals, defaults). */
int core_loop_new(struct core_clock *clock, const struct core_loop_opts *opts,
                  struct core_loop **out, struct core_err *err) CORE_NODISCARD;
/* Cancels timers without firing them and removes (without completing) any remaining easy
 * handles; their owners must have released them first. Accepts NULL. */
void core_loop_free(struct core_loop *loop);
struct core_clock *core_loop_clock(const struct core_loop *loop);
core_ns core_loop_now(const struct core_loop *loop); /* monotonic time of the loop's clock */

/* Schedules fn(ud) after `delay` (0 = on the next turn). Timers with equal deadlines fire in
 * the order they were added. The returned handle is owned by the loop and valid until the
 * timer fires or is cancelled. NULL on allocation failure. */
struct core_timer *core_loop_timer_add(struct core_loop *loop, core_ns delay, core_timer_fn fn,
                                       void *ud);
/* Cancels a pending timer. Accepts NULL. Must not be called for a timer that already fired. */
void core_loop_timer_cancel(struct core_loop *loop, struct core_timer *t);
size_t core_loop_timer_count(const struct core_loop *loop);

/* Adds a curl easy handle (CURL *) to the loop's multi handle. fn runs once when the transfer
 * ends; the caller then owns the easy handle again. */
int core_loop_add_easy(struct core_loop *loop, void *easy, core_loop_easy_fn fn, void *ud,
                       struct core_err *err) CORE_NODISCARD;
/* Removes a running easy handle without calling its completion. Must not be called while
 * core_loop_in_curl (curl forbids it): transports defer removals to the next turn then. */
void core_loop_remove_easy(struct core_loop *loop, void *easy);
/* True while curl runs its callbacks (inside curl_multi_perform). A handle added then is
 * queued by core_loop_add_easy and handed to curl when perform returns. */
int core_loop_in_curl(const struct core_loop *loop);
size_t core_loop_active_transfers(const struct core_loop *loop);
/* When the shutdown grace period ends, transfers still running are removed and completed with
 * this curl_result (CURLE_ABORTED_BY_CALLBACK); transports report them as CORE_E_CANCELLED. */
#define CORE_LOOP_EASY_CANCELLED 42
/* Work in flight that is not a curl transfer (an in-process transport's pending answer):
 * shutdown waits for holds to be released as it waits for transfers. */
void core_loop_hold(struct core_loop *loop);
void core_loop_release(struct core_loop *loop);

/* Watches a file descriptor (a pipe from a child process, a server's listening socket) in the
 * same poll as the transfers. events is a mask of CORE_LOOP_READ / CORE_LOOP_WRITE; fn runs on
 * the loop with the events that are ready. At most CORE_LOOP_MAX_FDS descriptors. While any
 * descriptor is watched a virtual-clock loop polls in short real-time slices, as it does for
 * transfers. The watch ends with core_loop_unwatch_fd (safe from inside fn). */
#define CORE_LOOP_READ 1
#define CORE_LOOP_WRITE 2
#define CORE_LOOP_MAX_FDS 32
typedef void (*core_loop_fd_fn)(void *ud, int fd, int events);
int core_loop_watch_fd(struct core_loop *loop, int fd, int events, core_loop_fd_fn fn,
                       void *ud) CORE_NODISCARD;
void core_loop_unwatch_fd(struct core_loop *loop, int fd);

/* Registers a hook run once when shutdown begins (signal or core_loop_stop). Hooks run in
 * registration order. */
int core_loop_on_shutdown(struct core_loop *loop, core_loop_shutdown_fn fn,
                          void *ud) CORE_NODISCARD;
/* Begins a graceful shutdown as if SIGTERM had arrived: hooks run, no timer fires any more,
 * in-flight HTTP exchanges may finish within the grace period, then are cancelled, and
 * core_loop_run returns 0. */
void core_loop_stop(struct core_loop *loop);
int core_loop_stopping(const struct core_loop *loop);
/* The signal that started shutdown, or 0. */
int core_loop_stop_signal(const struct core_loop *loop);

/* Runs one turn: waits for I/O or the next timer (not longer than max_wait; a negative
 * max_wait means "as long as needed"), then fires what is due. With a virtual clock and no
 * transfer in flight it does not wait: it moves the clock to the next timer. Returns 1 if there
 * is more to do, 0 when the loop is finished (no timers, no transfers, or shutdown complete),
 * negative on a fatal error. */
int core_loop_run_once(struct core_loop *loop, core_ns max_wait,
                       struct core_err *err) CORE_NODISCARD;
/* Runs until finished or shut down. 0 on a clean end. */
int core_loop_run(struct core_loop *loop, struct core_err *err) CORE_NODISCARD;
/* Runs until *flag becomes non-zero, the loop finishes, or monotonic time passes `deadline`
 * (absolute). Returns 0 if the flag was set, CORE_E_TIMEOUT otherwise. For tests and CLIs. */
int core_loop_run_until(struct core_loop *loop, const int *flag, core_ns deadline,
                        struct core_err *err) CORE_NODISCARD;

/* ------------------------------------------------------------------------------------------ */
/* Work queue                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* The queue a level-triggered controller runs on. Semantics:
 *  - a key added many times before it is processed is processed once (dedup);
 *  - a key is never processed twice at the same time: added while it is being processed, it is
 *    processed again after core_wq_done;
 *  - core_wq_done with CORE_WQ_RETRY requeues the key after a per-key exponential backoff
 *    (base * 2^failures, capped), combined with an overall token-bucket rate limit; done with
 *    CORE_WQ_OK resets the key's backoff;
 *  - core_wq_add_after adds a key after a delay (a shorter pending delay wins).
 * The handler is called from the loop; it may finish synchronously or later. Opaque. */
struct core_wq;

enum core_wq_result { CORE_WQ_OK = 0, CORE_WQ_RETRY = 1 };

/* key is borrowed for the duration of the call; the handler must eventually call
 * core_wq_done(wq, key, result) (with any copy of the key). */
typedef void (*core_wq_handler)(void *ud, struct core_wq *wq, const char *key);

struct core_wq_opts {
    core_ns backoff_base;  /* default 5 ms */
    core_ns backoff_cap;   /* default 1000 s */
    double qps;            /* overall rate limit for retries; default 10 */
    unsigned burst;        /* default 100 */
    unsigned max_inflight; /* keys processed concurrently; default 1 */
};

int core_wq_new(struct core_loop *loop, const struct core_wq_opts *opts, core_wq_handler fn,
                void *ud, struct core_wq **out, struct core_err *err) CORE_NODISCARD;
void core_wq_free(struct core_wq *wq);
int core_wq_add(struct core_wq *wq, const char *key) CORE_NODISCARD;
int core_wq_add_after(struct core_wq *wq, const char *key, core_ns delay) CORE_NODISCARD;
/* Adds the key after its current backoff delay and bumps its failure count. */
int core_wq_add_rate_limited(struct core_wq *wq, const char *key) CORE_NODISCARD;
void core_wq_done(struct core_wq *wq, const char *key, enum core_wq_result result);
/* Resets a key's backoff without requeueing it. */
void core_wq_forget(struct core_wq *wq, const char *key);
/* Stops dispatching; keys still queued are kept but never handed out. */
void core_wq_shutdown(struct core_wq *wq);
size_t core_wq_len(const struct core_wq *wq);       /* keys waiting (not delayed, not in flight) */
size_t core_wq_inflight(const struct core_wq *wq);  /* keys being processed */
unsigned core_wq_failures(const struct core_wq *wq, const char *key);

/* ------------------------------------------------------------------------------------------ */
/* HTTP transport seam                                                                         */
/* ------------------------------------------------------------------------------------------ */

#define CORE_HTTP_DEFAULT_MAX_RESPONSE (8u * 1024u * 1024u)

struct core_http_header {
    char *name;
    char *value;
};

/* TLS material for one request; every field optional. PEM blobs are borrowed. Verification is
 * always on: a missing CA means the system bundle, never "no verification". */
struct core_http_tls {
    const char *ca_file;   /* PEM bundle path */
    const char *ca_pem;    /* PEM bundle in memory (kubeconfig certificate-authority-data) */
    size_t ca_pem_len;
    const char *cert_pem;  /* client certificate */
    size_t cert_pem_len;
    const char *key_pem;   /* client key (never logged) */
    size_t key_pem_len;
};

struct core_http_response;

/* Streaming mode: called for each piece of the body as it arrives. Return 0 to go on, non-zero
 * to abort the exchange (its completion then reports CORE_E_CANCELLED). */
typedef int (*core_http_data_fn)(void *ud, const char *data, size_t len);
/* Completion: called exactly once per submitted request, from the loop, unless the request was
 * cancelled with core_http_cancel. resp is owned by the transport and valid during the call; the
 * callee may take resp->body's allocation with core_buf_steal. */
typedef void (*core_http_done_fn)(void *ud, struct core_http_response *resp);

struct core_http_request {
    const char *method; /* "GET", "POST", ... */
    const char *url;
    const char *const *headers; /* "Name: value" strings */
    size_t nheaders;
    const char *body; /* borrowed until completion; may be NULL */
    size_t body_len;
    size_t max_response;     /* body bytes; 0 = CORE_HTTP_DEFAULT_MAX_RESPONSE. In streaming
                                mode it bounds the total delivered: set it high for watches */
    core_ns connect_timeout; /* 0 = 10 s */
    core_ns timeout;         /* whole exchange; 0 = 60 s; ignored when streaming */
    long low_speed_bytes;    /* abort when slower than this many bytes/s ... */
    core_ns low_speed_time;  /* ... for this long (0 = off) */
    const struct core_http_tls *tls; /* may be NULL */
    core_http_data_fn on_data;       /* non-NULL = streaming mode: body is not accumulated */
    /* Streaming mode, optional: called once with the final HTTP status before the first piece
     * of the body (not at all for an empty body), so a stream can tell an error document from
     * data. Return non-zero to abort (the completion reports CORE_E_CANCELLED). */
    int (*on_status)(void *ud, long status);
    core_http_done_fn on_done;
    void *ud;
};

struct core_http_response {
    int result;       /* 0, or CORE_E_TIMEOUT / CORE_E_TLS / CORE_E_TRANSPORT / CORE_E_TOOBIG /
                         CORE_E_CANCELLED / CORE_E_NOMEM; an HTTP error status is not a failure
                         here: callers look at status */
    long status;      /* HTTP status, 0 if none was received */
    struct core_http_header *headers;
    size_t nheaders;
    struct core_buf body; /* empty in streaming mode */
    struct core_err err;  /* detail when result != 0 */
};

/* Case-insensitive header lookup; the last header of that name wins. NULL when absent. */
const char *core_http_response_header(const struct core_http_response *resp, const char *name);
/* Parses one raw response header line ("Name: value\r\n") into a name and a trimmed value.
 * Returns 1 and fills the outputs (heap strings the caller frees) for a header, 0 for a line
 * that is not a header (status line, blank line, obs-fold), negative on error. */
int core_http_parse_header_line(const char *line, size_t len, char **name, char **value);

/* The seam. Implementations fill an ops table; users call core_http_submit/cancel/free. */
struct core_http_transport;
struct core_http_transport_ops {
    /* Starts the exchange; on success *id identifies it for cancel. The request and everything
     * it points to must stay valid until completion or cancel. */
    int (*submit)(struct core_http_transport *t, const struct core_http_request *req,
                  uint64_t *id, struct core_err *err);
    /* Cancels without calling on_done. Unknown or finished ids are ignored. Like
     * core_http_transport_free, it may be called from on_data and on_done. */
    void (*cancel)(struct core_http_transport *t, uint64_t id);
    void (*destroy)(struct core_http_transport *t);
};
struct core_http_transport {
    const struct core_http_transport_ops *ops;
};

int core_http_submit(struct core_http_transport *t, const struct core_http_request *req,
                     uint64_t *id, struct core_err *err) CORE_NODISCARD;
void core_http_cancel(struct core_http_transport *t, uint64_t id);
/* Destroys the transport; in-flight requests are cancelled without completion. Accepts NULL. */
void core_http_transport_free(struct core_http_transport *t);
/* Frees what a response owns (headers, body) and zeroes it. For implementations. */
void core_http_response_cleanup(struct core_http_response *resp);
/* Appends a header to a response (copies name and value). For implementations. */
int core_http_response_add_header(struct core_http_response *resp, const char *name,
                                  const char *value) CORE_NODISCARD;

/* curl multi implementation, driven by `loop` (borrowed). */
struct core_http_curl_opts {
    const char *ca_file;     /* default CA bundle for requests without tls->ca_*; NULL = system */
    const char *user_agent;  /* default "stoker/<version>" */
    int disable_http2;       /* for tests; HTTP/2 is used where the server offers it */
};
int core_http_curl_new(struct core_loop *loop, const struct core_http_curl_opts *opts,
                       struct core_http_transport **out, struct core_err *err) CORE_NODISCARD;

/* Scripted implementation for unit tests: a queue of expectations, each answering one request
 * in order. A request that matches no expectation completes with CORE_E_TRANSPORT and is counted
 * in core_http_script_unexpected(). Every request is recorded for assertions. Answers are
 * delivered from the loop after the step's delay, never synchronously from submit. */
struct core_http_script;

struct core_http_script_step {
    const char *method;        /* NULL = any */
    const char *url;           /* exact URL, or a prefix when it ends with '*'; NULL = any */
    long status;
    const char *const *headers; /* "Name: value" */
    size_t nheaders;
    const char *body;           /* copied */
    size_t body_len;            /* 0 with body != NULL means strlen(body) */
    int result;                 /* non-zero: complete with this transport error instead */
    core_ns delay;              /* when to answer (0 = next loop turn) */
    size_t chunk;               /* streaming requests get the body in pieces of this size */
    core_ns chunk_delay;        /* between pieces */
};

struct core_http_script_request {
    char *method;
    char *url;
    char **headers; /* "Name: value" as sent */
    size_t nheaders;
    char *body;
    size_t body_len;
};

int core_http_script_new(struct core_loop *loop, struct core_http_script **out,
                         struct core_err *err) CORE_NODISCARD;
/* The transport view of the script; owned by the script (do not free it separately). */
struct core_http_transport *core_http_script_transport(struct core_http_script *s);
void core_http_script_free(struct core_http_script *s);
int core_http_script_expect(struct core_http_script *s,
                            const struct core_http_script_step *step) CORE_NODISCARD;
size_t core_http_script_pending(const struct core_http_script *s);    /* steps not yet used */
size_t core_http_script_unexpected(const struct core_http_script *s); /* requests with no step */
size_t core_http_script_nrequests(const struct core_http_script *s);
/* The i-th recorded request (0-based), or NULL. Borrowed. */
const struct core_http_script_request *core_http_script_request(const struct core_http_script *s,
                                                                size_t i);
/* Header value of a recorded request (case-insensitive), or NULL. */
const char *core_http_script_request_header(const struct core_http_script_request *r,
                                            const char *name);

/* ------------------------------------------------------------------------------------------ */
/* Versions                                                                                    */
/* ------------------------------------------------------------------------------------------ */

#define STOKER_VERSION "0.1.0"

#endif /* STOKER_CORE_H */
