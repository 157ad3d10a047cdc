/*
 * tests/unit/test_http_curl.c — the curl transport against a real local HTTP(S) server
 * (libmicrohttpd on 127.0.0.1, ephemeral port), driven by a real event loop and real clock.
 *
 * The server runs one thread per connection so a handler may block (to stall a response) or
 * sleep (to space out streamed pieces) without stopping the others. Every blocking handler
 * waits on srv.cv with a 10 s cap and is released by srv_stop before MHD_stop_daemon joins the
 * threads, so a failing test can never hang the suite. Server-side code allocates with plain
 * malloc, never core_malloc: the allocation-failure test arms core's process-wide counter and
 * must only ever count the client's allocations.
 *
 * TLS material is generated in-process with the OpenSSL 3 API: a self-signed EC P-256
 * certificate with CA:TRUE and subjectAltName IP:127.0.0.1, DNS:localhost, so it can act as its
 * own trust anchor.
 */
#include "tests/unit/harness.h"
#include "tests/unit/testtls.h"

#include "core/core.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MS CORE_NS_PER_MS

/* ==== the server ========================================================================== */

enum srv_mode {
    SRV_ECHO,     /* record the request, answer 201 with headers and a binary body */
    SRV_FIXED,    /* resp_size bytes with a Content-Length */
    SRV_CHUNKED,  /* resp_size bytes, chunked (no Content-Length) */
    SRV_SILENT,   /* accept the request, send nothing until released */
    SRV_PARTIAL,  /* send headers and 10 body bytes, then nothing until released */
    SRV_STREAM,   /* SRV_STREAM_PIECES pieces, SRV_STREAM_GAP_MS apart */
    SRV_REDIRECT, /* 302 to /elsewhere */
};

#define SRV_STREAM_PIECES 4
#define SRV_STREAM_GAP_MS 40
#define SRV_FIXED_MAX 65536

static const char echo_body[] = {'h', 'e', 'l', 'l', 'o', '\0', 'w', 'o', 'r', 'l', 'd'};
static char fixed_bytes[SRV_FIXED_MAX];

struct srv {
    struct MHD_Daemon *d;
    unsigned short port;
    enum srv_mode mode;
    size_t resp_size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int released;
    atomic_int connections; /* TCP connections accepted */
    atomic_int requests;    /* requests answered (or reached the stall point) */
    atomic_int stalled;     /* handlers currently holding a response back */
    /* What the last SRV_ECHO request carried (under mu). */
    char method[16];
    char url[128];
    char query_q[64];
    char custom[128];
    char ua[64];
    char ctype[64];
    char body[256];
    size_t body_len;
};

struct srv_req {
    char body[256];
    size_t len;
    int stalled_here;
};

struct srv_reader {
    struct srv *s;
    enum srv_mode mode;
    size_t sent;
    int calls;
};

static void srv_wait_release(struct srv *s)
{
    struct timespec until;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&s->mu);
    while (!s->released) {
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0)
            break;
    }
    pthread_mutex_unlock(&s->mu);
}

static void copy_value(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key,
                       char *dst, size_t dstsz)
{
    const char *v = MHD_lookup_connection_value(c, kind, key);
    snprintf(dst, dstsz, "%s", v ? v : "");
}

static ssize_t srv_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct srv_reader *r = cls;
    size_t n;

    (void)pos;
    switch (r->mode) {
    case SRV_CHUNKED:
        if (r->sent >= r->s->resp_size)
            return MHD_CONTENT_READER_END_OF_STREAM;
        n = r->s->resp_size - r->sent;
        if (n > max)
            n = max;
        if (n > 512)
            n = 512;
        memset(buf, 'y', n);
        r->sent += n;
        return (ssize_t)n;
    case SRV_PARTIAL:
        if (r->calls++ == 0) {
            memcpy(buf, "0123456789", 10);
            return 10;
        }
        atomic_fetch_add(&r->s->stalled, 1);
        srv_wait_release(r->s);
        atomic_fetch_sub(&r->s->stalled, 1);
        return MHD_CONTENT_READER_END_WITH_ERROR;
    case SRV_STREAM:
        if (r->calls >= SRV_STREAM_PIECES)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (r->calls > 0) {
            struct timespec gap = {0, SRV_STREAM_GAP_MS * 1000000L};
            nanosleep(&gap, NULL);
        }
        r->calls++;
        return snprintf(buf, max, "piece-%d;", r->calls);
    default:
        return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static enum MHD_Result srv_queue(struct MHD_Connection *c, unsigned status,
                                 struct MHD_Response *resp)
{
    enum MHD_Result ret;
    if (!resp)
        return MHD_NO;
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result srv_callback_response(struct srv *s, struct MHD_Connection *c)
{
    struct srv_reader *r = calloc(1, sizeof *r);
    struct MHD_Response *resp;
    if (!r)
        return MHD_NO;
    r->s = s;
    r->mode = s->mode;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, srv_read, r, free);
    if (!resp) {
        free(r);
        return MHD_NO;
    }
    return srv_queue(c, 200, resp);
}

static enum MHD_Result srv_handler(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    struct srv *s = cls;
    struct srv_req *rq = *con_cls;
    struct MHD_Response *resp;

    (void)version;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        if (s->mode == SRV_SILENT) {
            atomic_fetch_add(&s->requests, 1);
            atomic_fetch_add(&s->stalled, 1);
            srv_wait_release(s);
            atomic_fetch_sub(&s->stalled, 1);
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        if (n > sizeof rq->body - rq->len)
            n = sizeof rq->body - rq->len;
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        *upload_data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&s->requests, 1);
    switch (s->mode) {
    case SRV_ECHO:
        pthread_mutex_lock(&s->mu);
        snprintf(s->method, sizeof s->method, "%s", method);
        snprintf(s->url, sizeof s->url, "%s", url);
        copy_value(c, MHD_GET_ARGUMENT_KIND, "q", s->query_q, sizeof s->query_q);
        copy_value(c, MHD_HEADER_KIND, "x-custom", s->custom, sizeof s->custom);
        copy_value(c, MHD_HEADER_KIND, "User-Agent", s->ua, sizeof s->ua);
        copy_value(c, MHD_HEADER_KIND, "Content-Type", s->ctype, sizeof s->ctype);
        memcpy(s->body, rq->body, rq->len);
        s->body_len = rq->len;
        pthread_mutex_unlock(&s->mu);
        resp = MHD_create_response_from_buffer(sizeof echo_body, (void *)echo_body,
                                               MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "X-Reply", "yes");
        MHD_add_response_header(resp, "X-Dup", "first");
        MHD_add_response_header(resp, "X-Dup", "second");
        MHD_add_response_header(resp, "Content-Type", "application/x-stoker");
        return srv_queue(c, 201, resp);
    case SRV_FIXED:
        resp = MHD_create_response_from_buffer(s->resp_size, fixed_bytes,
                                               MHD_RESPMEM_PERSISTENT);
        return srv_queue(c, 200, resp);
    case SRV_REDIRECT:
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Location", "/elsewhere");
        return srv_queue(c, 302, resp);
    case SRV_CHUNKED:
    case SRV_PARTIAL:
    case SRV_STREAM:
        return srv_callback_response(s, c);
    case SRV_SILENT:
        break;
    }
    return MHD_NO;
}

static void srv_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
}

static void srv_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode toe)
{
    struct srv *s = cls;
    (void)c;
    (void)socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

static int srv_start(struct srv *s, enum srv_mode mode, const char *key_pem,
                     const char *cert_pem)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;

    memset(s, 0, sizeof *s);
    s->mode = mode;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    atomic_init(&s->connections, 0);
    atomic_init(&s->requests, 0);
    atomic_init(&s->stalled, 0);
    memset(fixed_bytes, 'x', sizeof fixed_bytes);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (key_pem)
        s->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, srv_handler, s,
                                MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                MHD_OPTION_NOTIFY_COMPLETED, srv_completed, s,
                                MHD_OPTION_NOTIFY_CONNECTION, srv_notify, s,
                                MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_MEM_CERT,
                                cert_pem, MHD_OPTION_END);
    else
        s->d = MHD_start_daemon(flags, 0, NULL, NULL, srv_handler, s, MHD_OPTION_SOCK_ADDR,
                                (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
                                srv_completed, s, MHD_OPTION_NOTIFY_CONNECTION, srv_notify, s,
                                MHD_OPTION_END);
    if (!s->d)
        return -1;
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0)
        return -1;
    s->port = info->port;
    return 0;
}

static void srv_stop(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    s->released = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->d)
        MHD_stop_daemon(s->d);
    s->d = NULL;
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

/* ==== the client side ===================================================================== */

struct fx {
    struct srv srv;
    struct core_clock *clock;
    struct core_loop *loop;
    struct core_http_transport *t;
    char base[64]; /* "http://127.0.0.1:PORT" */
};

struct xfer {
    struct core_loop *loop;
    int done;
    int ndone;
    int result;
    long status;
    core_ns at;
    size_t body_len;
    char body[512];
    char x_reply[32];
    char x_dup[32];
    char ctype[64];
    char location[64];
    char msg[CORE_ERR_MSG_MAX];
    /* streaming */
    int npieces;
    char streamed[512];
    size_t streamed_len;
    int stop_after;                       /* non-zero return after this many pieces */
    struct core_http_transport *cancel_t; /* on the first piece: cancel cancel_id on it */
    uint64_t cancel_id;
    struct core_http_transport *free_t;      /* on the first piece: destroy this transport */
    struct core_http_transport *free_t_done; /* in on_done: destroy this transport */
};

static void xfer_init(struct xfer *x, const struct fx *f)
{
    memset(x, 0, sizeof *x);
    x->loop = f->loop;
}

static void copy_header(const struct core_http_response *resp, const char *name, char *dst,
                        size_t dstsz)
{
    const char *v = core_http_response_header(resp, name);
    core_strlcpy(dst, v ? v : "", dstsz);
}

static void on_done(void *ud, struct core_http_response *resp)
{
    struct xfer *x = ud;
    x->done = 1;
    x->ndone++;
    x->result = resp->result;
    x->status = resp->status;
    x->at = core_loop_now(x->loop);
    x->body_len = resp->body.len;
    if (resp->body.len > 0)
        memcpy(x->body, resp->body.data,
               resp->body.len < sizeof x->body ? resp->body.len : sizeof x->body);
    /* Lookups in a different case than the server used. */
    copy_header(resp, "x-reply", x->x_reply, sizeof x->x_reply);
    copy_header(resp, "X-DUP", x->x_dup, sizeof x->x_dup);
    copy_header(resp, "content-type", x->ctype, sizeof x->ctype);
    copy_header(resp, "LOCATION", x->location, sizeof x->location);
    core_strlcpy(x->msg, resp->err.message, sizeof x->msg);
    if (x->free_t_done) {
        core_http_transport_free(x->free_t_done);
        x->free_t_done = NULL;
    }
}

static int on_data(void *ud, const char *data, size_t len)
{
    struct xfer *x = ud;
    x->npieces++;
    if (len <= sizeof x->streamed - x->streamed_len) {
        memcpy(x->streamed + x->streamed_len, data, len);
        x->streamed_len += len;
    }
    if (x->npieces == 1 && x->cancel_t)
        core_http_cancel(x->cancel_t, x->cancel_id);
    if (x->npieces == 1 && x->free_t)
        core_http_transport_free(x->free_t);
    return x->stop_after && x->npieces >= x->stop_after;
}

static struct core_http_request req_make(const char *method, const char *url, struct xfer *x)
{
    struct core_http_request q;
    memset(&q, 0, sizeof q);
    q.method = method;
    q.url = url;
    q.on_done = on_done;
    q.ud = x;
    return q;
}

static int fx_setup(struct fx *f, enum srv_mode mode)
{
    struct core_err err;
    memset(f, 0, sizeof *f);
    if (srv_start(&f->srv, mode, NULL, NULL) != 0)
        return -1;
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%u", (unsigned)f->srv.port);
    f->clock = core_clock_real_new();
    if (!f->clock || core_loop_new(f->clock, NULL, &f->loop, &err) != 0)
        return -1;
    if (core_http_curl_new(f->loop, NULL, &f->t, &err) != 0)
        return -1;
    return 0;
}

static void fx_teardown(struct fx *f)
{
    core_http_transport_free(f->t);
    core_loop_free(f->loop);
    core_clock_free(f->clock);
    srv_stop(&f->srv);
}

/* Runs the loop until *flag is set or `max` passes; 0 when the flag was set. */
static int run_for(struct fx *f, const int *flag, core_ns max)
{
    struct core_err err;
    return core_loop_run_until(f->loop, flag, core_loop_now(f->loop) + max, &err);
}

/* Runs the loop until the server has `n` stalled handlers (or 3 s pass). */
static int run_until_stalled(struct fx *f, int n)
{
    struct core_err err;
    core_ns end = core_loop_now(f->loop) + 3 * CORE_NS_PER_S;
    while (atomic_load(&f->srv.stalled) < n) {
        if (core_loop_now(f->loop) > end || core_loop_run_once(f->loop, 10 * MS, &err) < 0)
            return -1;
    }
    return 0;
}

/* ==== (1) normal exchange ================================================================= */

static void test_exchange(void)
{
    struct fx f;
    struct xfer x;
    struct core_http_request q;
    struct core_err err;
    const char *hdrs[] = {"X-Custom: hello there", "Content-Type: application/json"};
    const char body[] = "{\"a\":1}";
    char url[160];
    uint64_t id = 0;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_ECHO), 0);
    xfer_init(&x, &f);
    snprintf(url, sizeof url, "%s/v1/things?q=42", f.base);
    q = req_make("POST", url, &x);
    q.headers = hdrs;
    q.nheaders = 2;
    q.body = body;
    q.body_len = strlen(body);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, &err), 0);
    CU_ASSERT(id != 0);
    CU_ASSERT_EQUAL(x.ndone, 0); /* completion only from the loop */
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);

    /* What the server received. */
    pthread_mutex_lock(&f.srv.mu);
    CU_ASSERT_STRING_EQUAL(f.srv.method, "POST");
    CU_ASSERT_STRING_EQUAL(f.srv.url, "/v1/things");
    CU_ASSERT_STRING_EQUAL(f.srv.query_q, "42");
    CU_ASSERT_STRING_EQUAL(f.srv.custom, "hello there");
    CU_ASSERT_STRING_EQUAL(f.srv.ctype, "application/json");
    CU_ASSERT_STRING_EQUAL(f.srv.ua, "stoker/" STOKER_VERSION);
    CU_ASSERT_EQUAL(f.srv.body_len, strlen(body));
    CU_ASSERT_EQUAL(memcmp(f.srv.body, body, strlen(body)), 0);
    pthread_mutex_unlock(&f.srv.mu);

    /* What came back. */
    CU_ASSERT_EQUAL(x.ndone, 1);
    CU_ASSERT_EQUAL(x.result, 0);
    CU_ASSERT_EQUAL(x.status, 201);
    CU_ASSERT_EQUAL(x.body_len, sizeof echo_body);
    CU_ASSERT_EQUAL(memcmp(x.body, echo_body, sizeof echo_body), 0);
    CU_ASSERT_STRING_EQUAL(x.x_reply, "yes");
    CU_ASSERT_STRING_EQUAL(x.x_dup, "second");
    CU_ASSERT_STRING_EQUAL(x.ctype, "application/x-stoker");
    CU_ASSERT_STRING_EQUAL(x.msg, "");
    CU_ASSERT_EQUAL(core_loop_active_transfers(f.loop), 0);
    fx_teardown(&f);
}

static void test_get_and_user_agent_override(void)
{
    struct fx f;
    struct xfer x;
    struct core_http_request q;
    const char *hdrs[] = {"User-Agent: custom/1"};
    char url[160];
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_ECHO), 0);
    xfer_init(&x, &f);
    snprintf(url, sizeof url, "%s/get", f.base);
    q = req_make("GET", url, &x);
    q.headers = hdrs;
    q.nheaders = 1;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(x.result, 0);
    pthread_mutex_lock(&f.srv.mu);
    CU_ASSERT_STRING_EQUAL(f.srv.method, "GET");
    CU_ASSERT_STRING_EQUAL(f.srv.ua, "custom/1");
    CU_ASSERT_EQUAL(f.srv.body_len, 0);
    pthread_mutex_unlock(&f.srv.mu);

    /* Header injection and bad methods are refused before anything is sent. */
    {
        const char *bad[] = {"X-A: b\r\nX-Injected: 1"};
        q.headers = bad;
        CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), CORE_E_INVAL);
        q.headers = NULL;
        q.nheaders = 0;
        q.method = "GET /x HTTP/1.1\r\n";
        CU_ASSERT_EQUAL(core_http_submit(f.t, &q, &id, NULL), CORE_E_INVAL);
    }
    CU_ASSERT_EQUAL(atomic_load(&f.srv.requests), 1);
    fx_teardown(&f);
}

static void test_no_redirect_follow(void)
{
    struct fx f;
    struct xfer x;
    struct core_http_request q;
    char url[160];
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_REDIRECT), 0);
    xfer_init(&x, &f);
    snprintf(url, sizeof url, "%s/start", f.base);
    q = req_make("GET", url, &x);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(x.result, 0);
    CU_ASSERT_EQUAL(x.status, 302);
    CU_ASSERT_STRING_EQUAL(x.location, "/elsewhere");
    CU_ASSERT_EQUAL(atomic_load(&f.srv.requests), 1);
    fx_teardown(&f);
}

/* The query string (which may hold a pre-signed signature) never reaches the message. */
static void test_refused_message_hides_query(void)
{
    struct fx f;
    struct xfer x;
    struct core_http_request q;
    struct sockaddr_in sa;
    socklen_t slen = sizeof sa;
    char url[200], want[120];
    uint64_t id;
    int fd;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_ECHO), 0);
    xfer_init(&x, &f);
    /* A bound socket that does not listen: connecting to it is refused, and the port cannot
     * be taken by anyone else meanwhile. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(fd >= 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sa, &slen) == 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/bucket/key?X-Amz-Signature=s3cr3t#frag",
             (unsigned)ntohs(sa.sin_port));
    snprintf(want, sizeof want, "GET http://127.0.0.1:%u/bucket/key", (unsigned)ntohs(sa.sin_port));
    q = req_make("GET", url, &x);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
    close(fd);
    CU_ASSERT_EQUAL(x.result, CORE_E_TRANSPORT);
    CU_ASSERT_EQUAL(x.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(x.msg, want));
    CU_ASSERT_PTR_NULL(strstr(x.msg, "s3cr3t"));
    CU_ASSERT_PTR_NULL(strstr(x.msg, "frag"));
    CU_ASSERT(strlen(x.msg) > strlen(want) + 2); /* curl's own words follow */
    fx_teardown(&f);
}

/* ==== (2) connection reuse ================================================================ */

static void test_connection_reuse(void)
{
    struct fx f;
    struct xfer x1, x2;
    struct core_http_request q;
    char url[160];
    uint64_t id1, id2;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_ECHO), 0);
    xfer_init(&x1, &f);
    xfer_init(&x2, &f);
    snprintf(url, sizeof url, "%s/one", f.base);
    q = req_make("GET", url, &x1);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id1, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x1.done, 5 * CORE_NS_PER_S), 0);
    q = req_make("GET", url, &x2);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id2, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x2.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT(id1 != id2);
    CU_ASSERT_EQUAL(x1.result, 0);
    CU_ASSERT_EQUAL(x2.result, 0);
    CU_ASSERT_EQUAL(atomic_load(&f.srv.requests), 2);
    CU_ASSERT_EQUAL(atomic_load(&f.srv.connections), 1);
    fx_teardown(&f);
}

/* ==== (3) response size limit ============================================================= */

static void size_case(enum srv_mode mode, size_t served, size_t limit, int want)
{
    struct fx f;
    struct xfer x;
    struct core_http_request q;
    char url[160], lim[32];
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, mode), 0);
    f.srv.resp_size = served;
    xfer_init(&x, &f);
    snprintf(url, sizeof url, "%s/big?token=abc", f.base);
    q = req_make("GET", url, &x);
    q.max_response = limit;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(x.ndone, 1);
    CU_ASSERT_EQUAL(x.result, want);
    if (want == 0) {
        CU_ASSERT_EQUAL(x.body_len, served);
    } else {
        snprintf(lim, sizeof lim, "%zu", limit);
        CU_ASSERT_EQUAL(x.body_len, 0); /* never a truncated body */
        CU_ASSERT_PTR_NOT_NULL(strstr(x.msg, lim));
        CU_ASSERT_PTR_NOT_NULL(strstr(x.msg, "/big"));
        CU_ASSERT_PTR_NULL(strstr(x.msg, "token"));
    }
    fx_teardown(&f);
}

static void test_too_big_with_length(void)
{
    size_case(SRV_FIXED, 4096, 1000, CORE_E_TOOBIG);
    size_case(SRV_FIXED, 1000, 1000, 0); /* exactly at the limit is fine */
}

static void test_too_big_chunked(void)
{
    size_case(SRV_CHUNKED, 4096, 1000, CORE_E_TOOBIG);
    size_case(SRV_CHUNKED, 1001, 1000, CORE_E_TOOBIG);
    size_case(SRV_CHUNKED, 1000, 1000, 0);
}

/* ==== (4) stalls and timeouts ============================================================= */

static void stall_case(enum srv_mode mode)
{
    struct fx f;
    struct xfer x;
    struct core_http_request q;
    char url[160];
    core_ns start;
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, mode), 0);
    xfer_init(&x, &f);
    snprintf(url, sizeof url, "%s/stall", f.base);
    q = req_make("GET", url, &x);
    q.timeout = 300 * MS;
    start = core_loop_now(f.loop);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(x.result, CORE_E_TIMEOUT);
    CU_ASSERT(x.at - start >= 250 * MS);
    CU_ASSERT(x.at - start < 2 * CORE_NS_PER_S);
    CU_ASSERT_EQUAL(x.body_len, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(x.msg, "GET"));
    CU_ASSERT_PTR_NOT_NULL(strstr(x.msg, "/stall"));
    CU_ASSERT_EQUAL(atomic_load(&f.srv.requests), 1);
    fx_teardown(&f);
}

static void test_timeout_silent(void)
{
    stall_case(SRV_SILENT);
}

static void test_timeout_partial(void)
{
    stall_case(SRV_PARTIAL);
}

/* ==== (5) TLS ============================================================================= */

static int tls_get(struct fx *f, struct core_http_transport *t, const char *url,
                   const struct core_http_tls *tls, struct xfer *x)
{
    struct core_http_request q;
    uint64_t id;
    xfer_init(x, f);
    q = req_make("GET", url, x);
    q.tls = tls;
    if (core_http_submit(t, &q, &id, NULL) != 0)
        return -1;
    return run_for(f, &x->done, 5 * CORE_NS_PER_S);
}

static void test_tls(void)
{
    struct fx f;
    struct tests_tls_id ca, other, wrong_host;
    struct srv srv2;
    struct core_http_tls tls;
    struct core_http_transport *t2 = NULL;
    struct core_http_curl_opts opts;
    struct core_err err;
    struct xfer x;
    char url[160], url2[160], path[] = "/tmp/stoker-test-ca-XXXXXX";
    int fd;

    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        CU_FAIL_FATAL("libmicrohttpd was built without TLS: the TLS test cannot run");
    CU_ASSERT_EQUAL_FATAL(tests_tls_make("stoker test CA", "IP:127.0.0.1,DNS:localhost", &ca), 0);
    CU_ASSERT_EQUAL_FATAL(tests_tls_make("stoker other CA", "IP:127.0.0.1,DNS:localhost", &other), 0);
    CU_ASSERT_EQUAL_FATAL(tests_tls_make("stoker wrong host", "DNS:other.invalid", &wrong_host), 0);

    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL_FATAL(srv_start(&f.srv, SRV_ECHO, ca.key_pem, ca.cert_pem), 0);
    CU_ASSERT_EQUAL_FATAL(srv_start(&srv2, SRV_ECHO, wrong_host.key_pem, wrong_host.cert_pem), 0);
    f.clock = core_clock_real_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.clock);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(f.clock, NULL, &f.loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(f.loop, NULL, &f.t, &err), 0);
    snprintf(url, sizeof url, "https://127.0.0.1:%u/secure", (unsigned)f.srv.port);
    snprintf(url2, sizeof url2, "https://127.0.0.1:%u/secure", (unsigned)srv2.port);

    /* Trusted through an in-memory CA. */
    memset(&tls, 0, sizeof tls);
    tls.ca_pem = ca.cert_pem;
    tls.ca_pem_len = strlen(ca.cert_pem);
    CU_ASSERT_EQUAL(tls_get(&f, f.t, url, &tls, &x), 0);
    CU_ASSERT_EQUAL(x.result, 0);
    CU_ASSERT_EQUAL(x.status, 201);
    CU_ASSERT_EQUAL(x.body_len, sizeof echo_body);

    /* No CA: the system store does not know this one. The connection verified above must not
     * be reused for a request with different trust. */
    CU_ASSERT_EQUAL(tls_get(&f, f.t, url, NULL, &x), 0);
    CU_ASSERT_EQUAL(x.result, CORE_E_TLS);
    CU_ASSERT_EQUAL(x.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(x.msg, "GET https://127.0.0.1"));

    /* A CA that did not sign the server's certificate. */
    tls.ca_pem = other.cert_pem;
    tls.ca_pem_len = strlen(other.cert_pem);
    CU_ASSERT_EQUAL(tls_get(&f, f.t, url, &tls, &x), 0);
    CU_ASSERT_EQUAL(x.result, CORE_E_TLS);

    /* The right CA but a certificate for another name: host verification is on. */
    tls.ca_pem = wrong_host.cert_pem;
    tls.ca_pem_len = strlen(wrong_host.cert_pem);
    CU_ASSERT_EQUAL(tls_get(&f, f.t, url2, &tls, &x), 0);
    CU_ASSERT_EQUAL(x.result, CORE_E_TLS);

    /* The CA from a file, per request and as the transport's default. */
    fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL_FATAL(write(fd, ca.cert_pem, strlen(ca.cert_pem)),
                          (ssize_t)strlen(ca.cert_pem));
    close(fd);
    memset(&tls, 0, sizeof tls);
    tls.ca_file = path;
    CU_ASSERT_EQUAL(tls_get(&f, f.t, url, &tls, &x), 0);
    CU_ASSERT_EQUAL(x.result, 0);
    CU_ASSERT_EQUAL(x.status, 201);
    memset(&opts, 0, sizeof opts);
    opts.ca_file = path;
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(f.loop, &opts, &t2, &err), 0);
    CU_ASSERT_EQUAL(tls_get(&f, t2, url, NULL, &x), 0);
    CU_ASSERT_EQUAL(x.result, 0);
    CU_ASSERT_EQUAL(x.status, 201);
    /* A request's own CA replaces the transport's default. */
    tls.ca_file = NULL;
    tls.ca_pem = other.cert_pem;
    tls.ca_pem_len = strlen(other.cert_pem);
    CU_ASSERT_EQUAL(tls_get(&f, t2, url, &tls, &x), 0);
    CU_ASSERT_EQUAL(x.result, CORE_E_TLS);
    unlink(path);

    core_http_transport_free(t2);
    fx_teardown(&f);
    srv_stop(&srv2);
    tests_tls_free(&ca);
    tests_tls_free(&other);
    tests_tls_free(&wrong_host);
}

/* ==== (6) streaming ======================================================================= */

static void test_streaming(void)
{
    struct fx f;
    struct xfer x;
    struct core_http_request q;
    char url[160], want[128] = "";
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_STREAM), 0);
    xfer_init(&x, &f);
    for (int i = 1; i <= SRV_STREAM_PIECES; i++) {
        char p[32];
        snprintf(p, sizeof p, "piece-%d;", i);
        core_strlcpy(want + strlen(want), p, sizeof want - strlen(want));
    }
    snprintf(url, sizeof url, "%s/watch", f.base);
    q = req_make("GET", url, &x);
    q.on_data = on_data;
    /* Ignored when streaming: the stream lasts about 120 ms. */
    q.timeout = 20 * MS;
    /* The limit bounds the total streamed; this one is comfortably above it. */
    q.max_response = 1000;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(x.result, 0);
    CU_ASSERT_EQUAL(x.status, 200);
    CU_ASSERT(x.npieces > 1);
    CU_ASSERT_EQUAL(x.streamed_len, strlen(want));
    CU_ASSERT_EQUAL(memcmp(x.streamed, want, strlen(want)), 0);
    CU_ASSERT_EQUAL(x.body_len, 0); /* nothing accumulated */
    fx_teardown(&f);
}

static void test_streaming_abort_and_limit(void)
{
    struct fx f;
    struct xfer x;
    struct core_http_request q;
    char url[160];
    uint64_t id;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_STREAM), 0);
    snprintf(url, sizeof url, "%s/watch", f.base);

    /* on_data says stop: completion reports CORE_E_CANCELLED. */
    xfer_init(&x, &f);
    x.stop_after = 1;
    q = req_make("GET", url, &x);
    q.on_data = on_data;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(x.ndone, 1);
    CU_ASSERT_EQUAL(x.npieces, 1);
    CU_ASSERT_EQUAL(x.result, CORE_E_CANCELLED);

    /* The total streamed is bounded by max_response. */
    xfer_init(&x, &f);
    q = req_make("GET", url, &x);
    q.on_data = on_data;
    q.max_response = 12; /* less than two pieces */
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(x.result, CORE_E_TOOBIG);
    CU_ASSERT(x.streamed_len <= 12);
    fx_teardown(&f);
}

/* ==== (7) cancel and destroy ============================================================== */

static void test_cancel(void)
{
    struct fx f;
    struct xfer xa, xb, xc;
    struct core_http_request q;
    char url[160];
    uint64_t ida, idb, idc;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_SILENT), 0);
    xfer_init(&xa, &f);
    xfer_init(&xb, &f);
    xfer_init(&xc, &f);
    snprintf(url, sizeof url, "%s/slow", f.base);

    /* Cancelled right after submit. */
    q = req_make("GET", url, &xa);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &ida, NULL), 0);
    core_http_cancel(f.t, ida);
    CU_ASSERT_EQUAL(core_loop_active_transfers(f.loop), 0);

    /* Cancelled while the server holds it. */
    q = req_make("GET", url, &xb);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &idb, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(run_until_stalled(&f, 1), 0);
    core_http_cancel(f.t, idb);
    core_http_cancel(f.t, idb); /* twice, and an unknown id: ignored */
    core_http_cancel(f.t, 123456);
    CU_ASSERT_EQUAL(core_loop_active_transfers(f.loop), 0);

    /* A short-timeout request proves the loop kept running past both cancels. */
    q = req_make("GET", url, &xc);
    q.timeout = 200 * MS;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &idc, NULL), 0);
    CU_ASSERT_EQUAL(run_for(&f, &xc.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(xc.result, CORE_E_TIMEOUT);
    CU_ASSERT_EQUAL(xa.ndone, 0);
    CU_ASSERT_EQUAL(xb.ndone, 0);
    fx_teardown(&f);
}

/* on_data runs inside curl's write callback, where curl forbids removing handles: a cancel or
 * destroy issued from there must be deferred, and still never complete anything. */
static void test_cancel_from_callback(void)
{
    struct fx fs, fq;
    struct xfer xs, xq, xself;
    struct core_http_request q;
    char url_stream[160], url_slow[160];
    uint64_t ids, idq, idself;
    int never = 0;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&fs, SRV_STREAM), 0);
    CU_ASSERT_EQUAL_FATAL(srv_start(&fq.srv, SRV_SILENT, NULL, NULL), 0);
    snprintf(url_stream, sizeof url_stream, "%s/watch", fs.base);
    snprintf(url_slow, sizeof url_slow, "http://127.0.0.1:%u/slow", (unsigned)fq.srv.port);
    xfer_init(&xs, &fs);
    xfer_init(&xq, &fs);
    xfer_init(&xself, &fs);

    /* The stream's first piece cancels a request held by the other server. */
    q = req_make("GET", url_slow, &xq);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(fs.t, &q, &idq, NULL), 0);
    q = req_make("GET", url_stream, &xs);
    q.on_data = on_data;
    xs.cancel_t = fs.t;
    xs.cancel_id = idq;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(fs.t, &q, &ids, NULL), 0);
    /* A stream that cancels itself from its own first piece. */
    q = req_make("GET", url_stream, &xself);
    q.on_data = on_data;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(fs.t, &q, &idself, NULL), 0);
    xself.cancel_t = fs.t;
    xself.cancel_id = idself;

    CU_ASSERT_EQUAL(run_for(&fs, &xs.done, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(xs.result, 0);
    /* Let the deferred removals happen. */
    (void)run_for(&fs, &never, 100 * MS);
    CU_ASSERT_EQUAL(xq.ndone, 0);
    CU_ASSERT_EQUAL(xself.ndone, 0);
    CU_ASSERT_EQUAL(xself.npieces, 1);
    CU_ASSERT_EQUAL(core_loop_active_transfers(fs.loop), 0);
    fx_teardown(&fs);
    srv_stop(&fq.srv);
}

static void test_destroy_in_flight(void)
{
    struct fx f;
    struct xfer xa, xb, xc, xd;
    struct core_http_request q;
    struct core_http_transport *t2 = NULL, *t3 = NULL;
    struct core_err err;
    char url[160];
    uint64_t id;
    int never = 0;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_STREAM), 0);
    snprintf(url, sizeof url, "%s/watch", f.base);
    xfer_init(&xa, &f);
    xfer_init(&xb, &f);
    xfer_init(&xc, &f);
    xfer_init(&xd, &f);

    /* Destroyed from outside any callback, with two streams in flight. */
    q = req_make("GET", url, &xa);
    q.on_data = on_data;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(f.t, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL(core_loop_active_transfers(f.loop), 2);
    core_http_transport_free(f.t);
    f.t = NULL;
    CU_ASSERT_EQUAL(core_loop_active_transfers(f.loop), 0);

    /* Destroyed from inside on_data: deferred, quiet, and leak-free. */
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(f.loop, NULL, &t2, &err), 0);
    q = req_make("GET", url, &xb);
    q.on_data = on_data;
    xb.free_t = t2;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(t2, &q, &id, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_submit(t2, &q, &id, NULL), 0);
    (void)run_for(&f, &never, 300 * MS);
    CU_ASSERT_EQUAL(xa.ndone, 0);
    CU_ASSERT_EQUAL(xb.ndone, 0);
    CU_ASSERT(xb.npieces >= 1);
    CU_ASSERT_EQUAL(core_loop_active_transfers(f.loop), 0);
    CU_ASSERT_EQUAL(core_loop_timer_count(f.loop), 0);

    /* Destroyed from on_done (after its stream stopped itself) while another is in flight. */
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(f.loop, NULL, &t3, &err), 0);
    q = req_make("GET", url, &xc);
    q.on_data = on_data;
    xc.stop_after = 1;
    xc.free_t_done = t3;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(t3, &q, &id, NULL), 0);
    q = req_make("GET", url, &xd);
    q.on_data = on_data;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(t3, &q, &id, NULL), 0);
    (void)run_for(&f, &never, 300 * MS);
    CU_ASSERT_EQUAL(xc.ndone, 1);
    CU_ASSERT_EQUAL(xc.result, CORE_E_CANCELLED);
    CU_ASSERT_EQUAL(xd.ndone, 0);
    CU_ASSERT_EQUAL(core_loop_active_transfers(f.loop), 0);
    fx_teardown(&f);
}

/* ==== (8) allocation failures ============================================================= */

static void test_alloc_failures(void)
{
    struct fx f;
    const char *hdrs[] = {"X-Custom: v", "Content-Type: text/plain"};
    char url[160];
    unsigned long n;
    int clean = 0, failed_submits = 0, failed_completions = 0;

    CU_ASSERT_EQUAL_FATAL(fx_setup(&f, SRV_ECHO), 0);
    core_http_transport_free(f.t);
    f.t = NULL;
    snprintf(url, sizeof url, "%s/alloc?q=1", f.base);

    for (n = 1; n < 1000 && !clean; n++) {
        struct core_http_transport *t = NULL;
        struct core_http_request q;
        struct core_err err;
        struct xfer x;
        uint64_t id;
        int rc;

        xfer_init(&x, &f);
        q = req_make("POST", url, &x);
        q.headers = hdrs;
        q.nheaders = 2;
        q.body = "abc";
        q.body_len = 3;

        core_alloc_fail_after(n);
        rc = core_http_curl_new(f.loop, NULL, &t, &err);
        if (rc == 0)
            rc = core_http_submit(t, &q, &id, &err);
        if (rc == 0) {
            CU_ASSERT_EQUAL(run_for(&f, &x.done, 5 * CORE_NS_PER_S), 0);
            CU_ASSERT_EQUAL(x.ndone, 1);
            CU_ASSERT(x.result == 0 || x.result == CORE_E_NOMEM);
            if (x.result == 0) {
                CU_ASSERT_EQUAL(x.status, 201);
                CU_ASSERT_EQUAL(x.body_len, sizeof echo_body);
                CU_ASSERT_STRING_EQUAL(x.x_reply, "yes");
            } else {
                CU_ASSERT_EQUAL(x.body_len, 0);
                failed_completions++;
            }
        } else {
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_EQUAL(err.code, CORE_E_NOMEM);
            failed_submits++;
        }
        clean = core_alloc_failures() == 0;
        core_alloc_fail_after(0);
        if (clean) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(x.result, 0);
        }
        core_http_transport_free(t);
        CU_ASSERT_EQUAL(core_loop_active_transfers(f.loop), 0);
    }
    CU_ASSERT(clean);
    CU_ASSERT(failed_submits > 0);
    CU_ASSERT(failed_completions > 0); /* failures inside curl's callbacks were exercised */
    fx_teardown(&f);
}


/* ==== graceful shutdown with transfers in flight ========================================= */

static void stop_loop(void *ud)
{
    core_loop_stop(ud);
}

/* Shutdown lets a transfer that is making progress finish, and cancels one that is not when
 * the grace period ends; both end core_loop_run with 0, and no new request is accepted. */
static void shutdown_case(enum srv_mode mode, int want_result, core_ns min_ms, core_ns max_ms)
{
    struct srv s;
    struct core_clock *clock = core_clock_real_new();
    struct core_loop *loop = NULL;
    struct core_loop_opts o = {0, 300 * MS};
    struct core_http_transport *t = NULL;
    struct core_err err;
    struct xfer x, y;
    struct core_http_request q, q2;
    char url[160];
    core_ns start;
    uint64_t id;

    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(srv_start(&s, mode, NULL, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(clock, &o, &loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(loop, NULL, &t, &err), 0);
    memset(&x, 0, sizeof x);
    x.loop = loop;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/slow", (unsigned)s.port);
    q = req_make("GET", url, &x);
    q.timeout = 10 * CORE_NS_PER_S;
    if (mode == SRV_STREAM)
        q.on_data = on_data;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(t, &q, &id, &err), 0);
    start = core_loop_now(loop);
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 20 * MS, stop_loop, loop));
    CU_ASSERT_EQUAL(core_loop_run(loop, &err), 0);
    CU_ASSERT_EQUAL(x.ndone, 1);
    CU_ASSERT_EQUAL(x.result, want_result);
    CU_ASSERT(core_loop_now(loop) - start >= min_ms * MS);
    CU_ASSERT(core_loop_now(loop) - start < max_ms * MS);
    CU_ASSERT_EQUAL(core_loop_active_transfers(loop), 0);
    /* A stopping loop takes no new work. */
    memset(&y, 0, sizeof y);
    q2 = req_make("GET", url, &y);
    CU_ASSERT_NOT_EQUAL(core_http_submit(t, &q2, &id, &err), 0);
    CU_ASSERT_EQUAL(y.ndone, 0);
    core_http_transport_free(t);
    core_loop_free(loop);
    core_clock_free(clock);
    srv_stop(&s);
}

static void test_shutdown_cancels_stalled_after_grace(void)
{
    shutdown_case(SRV_SILENT, CORE_E_CANCELLED, 250, 3000);
}

static void test_shutdown_lets_progress_finish(void)
{
    /* The streamed answer takes about 160 ms, inside the 300 ms grace period. */
    shutdown_case(SRV_STREAM, 0, 100, 300);
}


/* ==== two transports on one loop ========================================================== */

struct cross {
    struct xfer x; /* first: on_done treats the callback data as a struct xfer */
    struct core_http_transport *other;
    uint64_t other_id;
    struct core_http_request next_req;
    uint64_t next_id;
    int submitted, submit_rc, pieces;
};

static int on_data_cross(void *ud, const char *data, size_t len)
{
    struct cross *c = ud;
    (void)data;
    (void)len;
    if (c->pieces++ == 0) {
        /* Inside transport A's curl callback: act on transport B. */
        core_http_cancel(c->other, c->other_id);
        c->submit_rc = core_http_submit(c->other, &c->next_req, &c->next_id, NULL);
        c->submitted = 1;
    }
    return 0;
}

static void test_cross_transport_from_callback(void)
{
    struct srv stream, silent;
    struct core_clock *clock = core_clock_real_new();
    struct core_loop *loop = NULL;
    struct core_http_transport *a = NULL, *b = NULL;
    struct core_err err;
    struct xfer xb, xc;
    struct cross cr;
    struct core_http_request qa, qb;
    char ua[160], ub[160];
    core_ns deadline;
    uint64_t id;

    memset(&stream, 0, sizeof stream);
    memset(&silent, 0, sizeof silent);
    CU_ASSERT_EQUAL_FATAL(srv_start(&stream, SRV_STREAM, NULL, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(srv_start(&silent, SRV_SILENT, NULL, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(clock, NULL, &loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(loop, NULL, &a, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_http_curl_new(loop, NULL, &b, &err), 0);
    memset(&xb, 0, sizeof xb);
    memset(&xc, 0, sizeof xc);
    memset(&cr, 0, sizeof cr);
    cr.x.loop = xb.loop = xc.loop = loop;
    snprintf(ub, sizeof ub, "http://127.0.0.1:%u/stall", (unsigned)silent.port);
    qb = req_make("GET", ub, &xb);
    qb.timeout = 10 * CORE_NS_PER_S;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(b, &qb, &cr.other_id, &err), 0);
    cr.other = b;
    snprintf(ua, sizeof ua, "http://127.0.0.1:%u/stream", (unsigned)stream.port);
    cr.next_req = req_make("GET", ua, &xc);
    qa = req_make("GET", ua, &cr.x);
    qa.on_data = on_data_cross;
    CU_ASSERT_EQUAL_FATAL(core_http_submit(a, &qa, &id, &err), 0);
    deadline = core_loop_now(loop) + 5 * CORE_NS_PER_S;
    while (!(xc.done && cr.x.done) && core_loop_now(loop) < deadline)
        CU_ASSERT_FATAL(core_loop_run_once(loop, 100 * MS, &err) >= 0);
    CU_ASSERT(cr.submitted);
    CU_ASSERT_EQUAL(cr.submit_rc, 0); /* a submit from inside another transport's callback */
    CU_ASSERT_EQUAL(cr.x.done, 1);
    CU_ASSERT_EQUAL(cr.x.result, 0);
    CU_ASSERT_EQUAL(xc.done, 1);      /* ... goes out and completes */
    CU_ASSERT_EQUAL(xc.result, 0);
    CU_ASSERT_EQUAL(xb.ndone, 0);     /* the cancelled request never completes */
    core_http_transport_free(a);
    core_http_transport_free(b);
    core_loop_free(loop);
    core_clock_free(clock);
    srv_stop(&stream);
    srv_stop(&silent);
}

TESTS_SUITE(core_http_curl, "core_http_curl", NULL, NULL, TESTS_CASE(test_exchange),
            TESTS_CASE(test_get_and_user_agent_override), TESTS_CASE(test_no_redirect_follow),
            TESTS_CASE(test_refused_message_hides_query), TESTS_CASE(test_connection_reuse),
            TESTS_CASE(test_too_big_with_length), TESTS_CASE(test_too_big_chunked),
            TESTS_CASE(test_timeout_silent), TESTS_CASE(test_timeout_partial),
            TESTS_CASE(test_tls), TESTS_CASE(test_streaming),
            TESTS_CASE(test_streaming_abort_and_limit), TESTS_CASE(test_cancel),
            TESTS_CASE(test_cancel_from_callback), TESTS_CASE(test_destroy_in_flight),
            TESTS_CASE(test_alloc_failures),
            TESTS_CASE(test_shutdown_cancels_stalled_after_grace),
            TESTS_CASE(test_shutdown_lets_progress_finish),
            TESTS_CASE(test_cross_transport_from_callback))
