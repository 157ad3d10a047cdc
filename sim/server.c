/*
 * sim/server.c — a loopback HTTP/1.1 server for `stoker sim serve`: libmicrohttpd in external
 * epoll mode, driven from the core loop (no server threads), handing each request to a
 * sim_handler_fn exactly as it crossed the wire.
 *
 * Invariants:
 *  - Only loopback addresses are bound (127.0.0.0/8, ::1, "localhost"); anything else is
 *    refused with CORE_E_INVAL before a socket exists.
 *  - MHD runs only from the loop: when its epoll descriptor is readable, and from one timer
 *    kept armed at min(MHD_get_timeout, SRV_TICK) so MHD's own bookkeeping (connection
 *    timeouts, data already pulled into its buffers, resumed connections) is never stranded.
 *  - Each request is a struct srv_req created by the URI log callback (which also gives the raw
 *    request target, query included, as sent) and freed by the completion callback; every
 *    live one is also on the server's list so sim_server_free can reclaim it.
 *  - Bodies are bounded by max_body: a Content-Length over it is answered 413 before the body
 *    is read; a chunked body that grows past it is discarded and answered 413.
 *  - A handler's delay suspends the connection (MHD_suspend_connection) and a loop timer
 *    resumes it; sim_server_free resumes every suspended connection before MHD_stop_daemon,
 *    which refuses to stop with suspended connections.
 *  - Streams: a handler that begins a stream gets a chunked answer (MHD callback response of
 *    unknown size) whose reader hands out the queued bytes; with nothing queued it suspends the
 *    connection (MHD allows that from the reader) and sim_stream_write / _end resume it and run
 *    MHD from a zero-delay timer, never from inside the write. While suspended MHD cannot see
 *    a client go away, so the socket is watched on the loop meanwhile: end-of-file there marks
 *    the stream gone and the reader ends the answer with an error. The completion callback
 *    (any termination but a finished stream, and sim_server_free through MHD_stop_daemon) runs
 *    the handler's on_close once.
 *  - Nothing here logs (MHD's error log is off).
 */
#include "sim/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SRV_TICK (50 * CORE_NS_PER_MS)
#define SRV_DEFAULT_MAX_BODY (16u * 1024u * 1024u)
#define SRV_RESPONSE_LIMIT (256u * 1024u * 1024u)
#define SRV_HEADERS_MAX 256u
#define SRV_CONN_TIMEOUT_S 120u

enum srv_state {
    SRV_COLLECTING = 0, /* headers seen, body arriving */
    SRV_SUSPENDED,      /* answered by the handler, waiting for its delay */
    SRV_READY,          /* resumed: queue the stored answer */
};

struct srv_req {
    struct srv_req *prev, *next;
    struct sim_server *s;
    struct MHD_Connection *conn;
    char *target;  /* raw request target as sent */
    int started;   /* the access handler has seen this request */
    int too_big;   /* the body went over max_body */
    int too_many;  /* more headers than SRV_HEADERS_MAX */
    enum srv_state state;
    struct core_buf body;
    struct sim_header *headers; /* borrowed from MHD for the handler call */
    size_t nheaders;
    struct MHD_Response *mresp; /* the delayed answer */
    unsigned mstatus;
    struct core_timer *timer;   /* resumes the connection */
    struct sim_stream st;       /* req->stream for the handler */
    int st_suspended;           /* the reader found nothing and suspended the connection */
    int fd;                     /* the connection's socket while watched, else -1 */
};

struct sim_server {
    struct core_loop *loop;
    sim_handler_fn fn;
    void *ud;
    size_t max_body;
    struct MHD_Daemon *d;
    int epfd;
    int watching;
    uint16_t port;
    struct core_timer *tick;
    struct srv_req *reqs;
    int running; /* inside MHD_run: no re-entry */
    int kicked;  /* a resumed stream wants MHD to run on the next turn */
};

/* ---- driving MHD from the loop ------------------------------------------------------------- */

static void srv_tick(void *ud);

static void srv_arm(struct sim_server *s)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;
    core_ns wait = SRV_TICK;

    if (s->tick)
        core_loop_timer_cancel(s->loop, s->tick);
    s->tick = NULL;
    if (MHD_get_timeout(s->d, &ms) == MHD_YES && (core_ns)ms * CORE_NS_PER_MS < wait)
        wait = (core_ns)ms * CORE_NS_PER_MS;
    if (s->kicked)
        wait = 0;
    s->kicked = 0;
    /* On failure the epoll watch still drives MHD; the tick is a safety net only. */
    s->tick = core_loop_timer_add(s->loop, wait, srv_tick, s);
}

static void srv_run(struct sim_server *s)
{
    if (s->running)
        return;
    s->running = 1;
    (void)MHD_run(s->d); /* MHD_NO only for a daemon in the wrong mode: not ours */
    s->running = 0;
    srv_arm(s);
}

static void srv_tick(void *ud)
{
    struct sim_server *s = ud;
    s->tick = NULL;
    srv_run(s);
}

static void srv_on_fd(void *ud, int fd, int events)
{
    (void)fd;
    (void)events;
    srv_run(ud);
}

/* ---- streams ------------------------------------------------------------------------------- */

static void srv_kick(struct sim_server *s)
{
    s->kicked = 1;
    if (!s->running)
        srv_arm(s);
}

static void peer_unwatch(struct srv_req *r)
{
    if (r->fd >= 0)
        core_loop_unwatch_fd(r->s->loop, r->fd);
    r->fd = -1;
}

static void stream_resume(struct srv_req *r)
{
    if (!r->st_suspended)
        return;
    r->st_suspended = 0;
    peer_unwatch(r);
    MHD_resume_connection(r->conn);
}

/* The socket of a suspended stream became readable: end of file means the client left. */
static void on_peer(void *ud, int fd, int events)
{
    struct srv_req *r = ud;
    char c;
    ssize_t n;

    (void)events;
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0) {
        /* The client is sending (a pipelined request): stop watching rather than spin;
         * a failed write will tell when it leaves. */
        peer_unwatch(r);
        return;
    }
    r->st.gone = 1; /* on_close from the completion callback */
    stream_resume(r);
    srv_kick(r->s);
}

static void stream_kick(struct sim_stream *st)
{
    struct srv_req *r = st->fe;

    if (!r->st_suspended)
        return; /* the reader will find the bytes when MHD next asks */
    stream_resume(r);
    srv_kick(r->s);
}

static const struct sim_stream_ops srv_stream_ops = {
    .kick = stream_kick,
};

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct srv_req *r = cls;
    const union MHD_ConnectionInfo *ci;
    size_t n;

    (void)pos;
    if (r->st.gone)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    n = sim_stream_read(&r->st, buf, max);
    if (n > 0)
        return (ssize_t)n;
    if (r->st.ended)
        return MHD_CONTENT_READER_END_OF_STREAM;
    r->st_suspended = 1;
    ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci && r->fd < 0 &&
        core_loop_watch_fd(r->s->loop, ci->connect_fd, CORE_LOOP_READ, on_peer, r) == 0)
        r->fd = ci->connect_fd;
    /* Without the watch (descriptor limit) a departed client is noticed at the next write. */
    MHD_suspend_connection(r->conn);
    return 0;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void req_free(struct sim_server *s, struct srv_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else if (s->reqs == r)
        s->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    if (r->timer)
        core_loop_timer_cancel(s->loop, r->timer);
    if (r->mresp)
        MHD_destroy_response(r->mresp);
    peer_unwatch(r);
    /* Completion without the stream's end (client gone, timeout, server freed): on_close. */
    sim_stream_close(&r->st);
    sim_stream_cleanup(&r->st);
    core_buf_cleanup(&r->body);
    core_free(r->headers);
    core_free(r->target);
    core_free(r);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct sim_server *s = cls;
    struct srv_req *r = core_calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->target = core_strdup(uri && *uri ? uri : "/");
    if (!r->target) {
        core_free(r);
        return NULL;
    }
    r->s = s;
    r->conn = conn;
    r->fd = -1;
    sim_stream_init(&r->st, &srv_stream_ops, r);
    core_buf_init(&r->body, s->max_body);
    r->next = s->reqs;
    if (s->reqs)
        s->reqs->prev = r;
    s->reqs = r;
    return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct sim_server *s = cls;
    (void)conn;
    (void)toe;
    if (*con_cls)
        req_free(s, *con_cls);
    *con_cls = NULL;
}

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct srv_req *r = cls;
    (void)kind;
    if (r->nheaders == SRV_HEADERS_MAX) {
        r->too_many = 1;
        return MHD_NO;
    }
    r->headers[r->nheaders].name = key ? key : "";
    r->headers[r->nheaders].value = value ? value : "";
    r->nheaders++;
    return MHD_YES;
}

static enum MHD_Result queue_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
    struct MHD_Response *mr = MHD_create_response_from_buffer(strlen(text), (void *)text,
                                                              MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!mr)
        return MHD_NO;
    MHD_add_response_header(mr, "Content-Type", "text/plain");
    ret = MHD_queue_response(conn, status, mr);
    MHD_destroy_response(mr);
    return ret;
}

/* MHD writes these itself from the body and connection state. */
static int header_managed(const char *name)
{
    return strcasecmp(name, "Content-Length") == 0 ||
           strcasecmp(name, "Transfer-Encoding") == 0 || strcasecmp(name, "Connection") == 0;
}

/* The handler's answer as an MHD response (a chunked stream when it began one); NULL on
 * allocation failure. */
static struct MHD_Response *to_mhd(struct srv_req *r, const struct core_http_response *resp)
{
    struct MHD_Response *mr;

    if (r->st.begun) {
        if (resp->body.len && sim_stream_prepend(&r->st, resp->body.data, resp->body.len) != 0)
            return NULL;
        mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, stream_reader, r,
                                               NULL);
    } else {
        mr = MHD_create_response_from_buffer(resp->body.len,
                                             resp->body.len ? resp->body.data : (void *)"",
                                             MHD_RESPMEM_MUST_COPY);
    }
    if (!mr)
        return NULL;
    for (size_t i = 0; i < resp->nheaders; i++) {
        const struct core_http_header *h = &resp->headers[i];
        if (!h->name || !h->value || header_managed(h->name))
            continue;
        if (MHD_add_response_header(mr, h->name, h->value) != MHD_YES) {
            MHD_destroy_response(mr);
            return NULL;
        }
    }
    return mr;
}

static void on_resume(void *ud)
{
    struct srv_req *r = ud;
    struct sim_server *s = r->s;

    r->timer = NULL;
    r->state = SRV_READY;
    MHD_resume_connection(r->conn);
    srv_run(s);
}

/* Runs the handler and queues (or, with a delay, parks) its answer. */
static enum MHD_Result answer(struct sim_server *s, struct srv_req *r, const char *method)
{
    struct sim_http_req hr;
    struct core_http_response resp;
    struct MHD_Response *mr;
    core_ns delay = 0;
    unsigned status;
    enum MHD_Result ret;

    r->headers = core_calloc(SRV_HEADERS_MAX, sizeof *r->headers);
    if (!r->headers)
        return queue_text(r->conn, 500, "out of memory\n");
    r->nheaders = 0;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, on_header, r);
    if (r->too_many)
        return queue_text(r->conn, 431, "too many request headers\n");
    memset(&hr, 0, sizeof hr);
    hr.method = method;
    hr.target = r->target;
    hr.headers = r->headers;
    hr.nheaders = r->nheaders;
    hr.body = r->body.len ? r->body.data : "";
    hr.body_len = r->body.len;
    hr.stream = &r->st;
    memset(&resp, 0, sizeof resp);
    core_buf_init(&resp.body, SRV_RESPONSE_LIMIT);
    r->st.in_handler = 1;
    s->fn(s->ud, &hr, &resp, &delay);
    r->st.in_handler = 0;
    status = resp.status >= 100 && resp.status <= 999 ? (unsigned)resp.status : 500u;
    mr = to_mhd(r, &resp);
    core_http_response_cleanup(&resp);
    if (!mr)
        return queue_text(r->conn, 500, "out of memory\n");
    if (delay > 0) {
        r->timer = core_loop_timer_add(s->loop, delay, on_resume, r);
        if (r->timer) {
            r->mresp = mr;
            r->mstatus = status;
            r->state = SRV_SUSPENDED;
            MHD_suspend_connection(r->conn);
            return MHD_YES;
        }
        /* No timer: answer now rather than never. */
    }
    ret = MHD_queue_response(r->conn, status, mr);
    MHD_destroy_response(mr);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct sim_server *s = cls;
    struct srv_req *r = *con_cls;
    enum MHD_Result ret;

    (void)url;
    (void)version;
    if (!r)
        return MHD_NO; /* the URI callback ran out of memory: drop the connection */
    if (!r->started) {
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        int64_t n;
        r->started = 1;
        if (cl && core_parse_i64(cl, 0, INT64_MAX, &n) == 0 && (uint64_t)n > s->max_body)
            return queue_text(conn, 413, "request body too large\n");
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->too_big && core_buf_append(&r->body, upload_data, *upload_data_size) != 0) {
            r->too_big = 1;
            core_buf_cleanup(&r->body);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->state == SRV_SUSPENDED)
        return MHD_YES; /* not expected while suspended; keep waiting for the timer */
    if (r->state == SRV_READY) {
        ret = MHD_queue_response(conn, r->mstatus, r->mresp);
        MHD_destroy_response(r->mresp);
        r->mresp = NULL;
        return ret;
    }
    if (r->too_big)
        return queue_text(conn, 413, "request body too large\n");
    return answer(s, r, method);
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

/* Fills *ss with a loopback address for host and port; CORE_E_INVAL for anything else. */
static int loopback_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                         socklen_t *len, int *v6)
{
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof *ss);
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
            return CORE_E_INVAL;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        *v6 = 0;
        return 0;
    }
    if (host[0] == '[') {
        /* "[::1]" as written in URLs */
        char bare[64];
        size_t n = strlen(host);
        if (n < 3 || n - 2 >= sizeof bare || host[n - 1] != ']')
            return CORE_E_INVAL;
        memcpy(bare, host + 1, n - 2);
        bare[n - 2] = '\0';
        if (inet_pton(AF_INET6, bare, &a6->sin6_addr) != 1)
            return CORE_E_INVAL;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) {
        return CORE_E_INVAL;
    }
    if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
        return CORE_E_INVAL;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    *len = sizeof *a6;
    *v6 = 1;
    return 0;
}

int sim_server_new(struct core_loop *loop, const struct sim_server_opts *opts, sim_handler_fn fn,
                   void *ud, struct sim_server **out, struct core_err *err)
{
    const char *host = opts && opts->host && *opts->host ? opts->host : "127.0.0.1";
    uint16_t port = opts ? opts->port : 0;
    struct sockaddr_storage ss;
    socklen_t slen = 0;
    const union MHD_DaemonInfo *info;
    struct sim_server *s;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    int v6 = 0, rc;

    if (!loop || !fn || !out)
        return core_err_set(err, CORE_E_INVAL, "sim server: needs a loop and a handler");
    if (loopback_addr(host, port, &ss, &slen, &v6) != 0)
        return core_err_set(err, CORE_E_INVAL, "sim server: listen address '%.64s' is not a "
                            "loopback address (expected 127.x.x.x, ::1 or localhost)", host);
    (void)slen;
    if (v6)
        flags |= MHD_USE_IPv6;
    s = core_calloc(1, sizeof *s);
    if (!s)
        return core_err_set(err, CORE_E_NOMEM, "sim server: out of memory");
    s->loop = loop;
    s->fn = fn;
    s->ud = ud;
    s->epfd = -1;
    s->max_body = opts && opts->max_body ? opts->max_body : SRV_DEFAULT_MAX_BODY;
    s->d = MHD_start_daemon(flags, port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SRV_CONN_TIMEOUT_S,
                            MHD_OPTION_END);
    if (!s->d) {
        core_free(s);
        return core_err_set(err, CORE_E_TRANSPORT, "sim server: cannot listen on %s port %u "
                            "(address in use?)", host, (unsigned)port);
    }
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_EPOLL_FD);
    s->epfd = info ? info->epoll_fd : -1;
    if (!s->port || s->epfd < 0) {
        sim_server_free(s);
        return core_err_set(err, CORE_E_TRANSPORT, "sim server: libmicrohttpd did not report "
                            "its port or epoll descriptor");
    }
    rc = core_loop_watch_fd(loop, s->epfd, CORE_LOOP_READ, srv_on_fd, s);
    if (rc) {
        sim_server_free(s);
        return core_err_set(err, rc, "sim server: cannot watch the server's descriptor: %s",
                            core_strerror(rc));
    }
    s->watching = 1;
    srv_arm(s);
    if (!s->tick) {
        sim_server_free(s);
        return core_err_set(err, CORE_E_NOMEM, "sim server: out of memory");
    }
    *out = s;
    return 0;
}

uint16_t sim_server_port(const struct sim_server *s)
{
    return s ? s->port : 0;
}

void sim_server_free(struct sim_server *s)
{
    if (!s)
        return;
    if (s->watching)
        core_loop_unwatch_fd(s->loop, s->epfd);
    if (s->tick)
        core_loop_timer_cancel(s->loop, s->tick);
    s->tick = NULL;
    /* MHD refuses to stop with suspended connections: resume them; their parked answers are
     * dropped with the connections. */
    for (struct srv_req *r = s->reqs; r; r = r->next) {
        if (r->state == SRV_SUSPENDED) {
            if (r->timer)
                core_loop_timer_cancel(s->loop, r->timer);
            r->timer = NULL;
            r->state = SRV_READY;
            MHD_resume_connection(r->conn);
        }
        r->st.gone = 1; /* open streams: on_close from the completion callbacks */
        stream_resume(r);
    }
    if (s->d)
        MHD_stop_daemon(s->d); /* completion callbacks free their requests */
    while (s->reqs)
        req_free(s, s->reqs);
    core_free(s);
}
