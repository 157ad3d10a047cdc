/*
 * core/loop.c — the single-threaded event loop: curl multi + timer min-heap + signalfd.
 *
 * Invariants:
 *  - Everything runs on the thread that calls core_loop_run*; nothing here takes a lock.
 *  - The heap is ordered by (deadline, seq): timers with equal deadlines fire in the order they
 *    were added, and a timer added while timers fire never runs in the same pass, so a timer
 *    that re-arms itself with delay 0 cannot starve I/O.
 *  - Each timer's idx is its position in the heap, so cancel is O(log n).
 *  - The loop owns CURLOPT_PRIVATE of every easy handle added to it.
 *  - Once shutdown begins no new work is accepted by controllers (their hooks stop it); timers
 *    still fire so in-process transports can finish; the loop ends when no transfer and no hold
 *    remains, or when the grace period expires and the remaining transfers are cancelled.
 *  - With a virtual clock and nothing in flight on real sockets, the loop never sleeps: it moves
 *    the clock to the next deadline, looking at watched descriptors without blocking; only when
 *    descriptors are all that is left does it block on them.
 */
#include "core/core.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

struct core_timer {
    core_ns deadline;
    uint64_t seq;
    size_t idx;
    core_timer_fn fn;
    void *ud;
};

struct loop_easy {
    CURL *easy;
    core_loop_easy_fn fn;
    void *ud;
    int added; /* handed to the multi handle (not yet, when added from inside perform) */
    struct loop_easy *prev, *next;
};

struct loop_fd {
    int fd;
    int events;
    core_loop_fd_fn fn;
    void *ud;
};

struct loop_hook {
    core_loop_shutdown_fn fn;
    void *ud;
};

struct core_loop {
    struct core_clock *clock;
    CURLM *multi;

    struct core_timer **heap;
    size_t nheap, capheap;
    uint64_t seq;

    struct loop_easy *easies; /* doubly linked list of running transfers */
    size_t nactive;
    int in_perform;           /* curl_multi_perform (and so curl's callbacks) is running */
    int pending_adds;         /* transfers added during perform, not yet given to curl */
    size_t holds;

    int sigfd;
    int signals_blocked;
    sigset_t oldmask;

    struct loop_fd fds[CORE_LOOP_MAX_FDS];
    size_t nfds;

    struct loop_hook *hooks;
    size_t nhooks;
    int stopping;
    int stop_signal;
    core_ns stop_deadline;
    core_ns grace;
};

#define LOOP_DEFAULT_GRACE (10 * CORE_NS_PER_S)
/* With a virtual clock and real transfers in flight, poll in slices this long so virtual
 * timers are never starved by a slow socket. */
#define LOOP_VIRTUAL_POLL_MS 50

/* ---- timer heap ---------------------------------------------------------------------------- */

static int timer_before(const struct core_timer *a, const struct core_timer *b)
{
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->seq < b->seq;
}

static void heap_swap(struct core_loop *loop, size_t i, size_t j)
{
    struct core_timer *t = loop->heap[i];
    loop->heap[i] = loop->heap[j];
    loop->heap[j] = t;
    loop->heap[i]->idx = i;
    loop->heap[j]->idx = j;
}

static void heap_up(struct core_loop *loop, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_before(loop->heap[i], loop->heap[p]))
            break;
        heap_swap(loop, i, p);
        i = p;
    }
}

static void heap_down(struct core_loop *loop, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < loop->nheap && timer_before(loop->heap[l], loop->heap[m]))
            m = l;
        if (r < loop->nheap && timer_before(loop->heap[r], loop->heap[m]))
            m = r;
        if (m == i)
            break;
        heap_swap(loop, i, m);
        i = m;
    }
}

static void heap_remove(struct core_loop *loop, size_t i)
{
    size_t last = loop->nheap - 1;
    if (i != last) {
        heap_swap(loop, i, last);
        loop->nheap--;
        heap_down(loop, i);
        heap_up(loop, i);
    } else {
        loop->nheap--;
    }
}

struct core_timer *core_loop_timer_add(struct core_loop *loop, core_ns delay, core_timer_fn fn,
                                       void *ud)
{
    struct core_timer *t;

    if (loop->nheap == loop->capheap) {
        size_t ncap = loop->capheap ? loop->capheap * 2 : 64;
        struct core_timer **nh = core_realloc(loop->heap, ncap * sizeof *nh);
        if (!nh)
            return NULL;
        loop->heap = nh;
        loop->capheap = ncap;
    }
    t = core_malloc(sizeof *t);
    if (!t)
        return NULL;
    if (delay < 0)
        delay = 0;
    t->deadline = core_clock_mono(loop->clock) + delay;
    t->seq = ++loop->seq;
    t->fn = fn;
    t->ud = ud;
    t->idx = loop->nheap;
    loop->heap[loop->nheap++] = t;
    heap_up(loop, t->idx);
    return t;
}

void core_loop_timer_cancel(struct core_loop *loop, struct core_timer *t)
{
    if (!t)
        return;
    heap_remove(loop, t->idx);
    core_free(t);
}

size_t core_loop_timer_count(const struct core_loop *loop)
{
    return loop->nheap;
}

/* Fires every timer due at `now` that existed when the pass began. */
static void fire_timers(struct core_loop *loop)
{
    core_ns now = core_clock_mono(loop->clock);
    uint64_t last_seq = loop->seq;

    while (loop->nheap > 0) {
        struct core_timer *t = loop->heap[0];
        core_timer_fn fn;
        void *ud;
        if (t->deadline > now || t->seq > last_seq)
            break;
        heap_remove(loop, 0);
        fn = t->fn;
        ud = t->ud;
        core_free(t);
        fn(ud);
    }
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

int core_loop_new(struct core_clock *clock, const struct core_loop_opts *opts,
                  struct core_loop **out, struct core_err *err)
{
    struct core_loop *loop = NULL;
    int rc = 0;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return core_err_set(err, CORE_E_TRANSPORT, "event loop: curl_global_init failed");
    loop = core_calloc(1, sizeof *loop);
    if (!loop) {
        rc = core_err_set(err, CORE_E_NOMEM, "event loop: out of memory");
        goto fail;
    }
    loop->clock = clock;
    loop->sigfd = -1;
    loop->grace = opts && opts->shutdown_grace > 0 ? opts->shutdown_grace : LOOP_DEFAULT_GRACE;
    loop->multi = curl_multi_init();
    if (!loop->multi) {
        rc = core_err_set(err, CORE_E_NOMEM, "event loop: curl_multi_init failed");
        goto fail;
    }
    /* Many streams to one API server share one connection where HTTP/2 allows it. */
    curl_multi_setopt(loop->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (opts && opts->handle_signals) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        if (pthread_sigmask(SIG_BLOCK, &set, &loop->oldmask) != 0) {
            rc = core_err_set(err, CORE_E_STATE, "event loop: cannot block SIGTERM/SIGINT");
            goto fail;
        }
        loop->signals_blocked = 1;
        loop->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (loop->sigfd < 0) {
            rc = core_err_set(err, -errno, "event loop: signalfd: %s", strerror(errno));
            goto fail;
        }
    }
    *out = loop;
    return 0;
fail:
    if (loop) {
        core_loop_free(loop);
    } else {
        curl_global_cleanup();
    }
    return rc;
}

void core_loop_free(struct core_loop *loop)
{
    if (!loop)
        return;
    while (loop->easies) {
        struct loop_easy *e = loop->easies;
        loop->easies = e->next;
        curl_multi_remove_handle(loop->multi, e->easy);
        core_free(e);
    }
    for (size_t i = 0; i < loop->nheap; i++)
        core_free(loop->heap[i]);
    core_free(loop->heap);
    core_free(loop->hooks);
    if (loop->multi)
        curl_multi_cleanup(loop->multi);
    if (loop->sigfd >= 0)
        close(loop->sigfd);
    if (loop->signals_blocked) {
        /* Drain what arrived so restoring the mask does not deliver it with default action. */
        sigset_t set;
        struct timespec zero = {0, 0};
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        while (sigtimedwait(&set, NULL, &zero) > 0)
            ;
        pthread_sigmask(SIG_SETMASK, &loop->oldmask, NULL);
    }
    core_free(loop);
    curl_global_cleanup();
}

struct core_clock *core_loop_clock(const struct core_loop *loop)
{
    return loop->clock;
}

core_ns core_loop_now(const struct core_loop *loop)
{
    return core_clock_mono(loop->clock);
}

/* ---- transfers ----------------------------------------------------------------------------- */

int core_loop_add_easy(struct core_loop *loop, void *easy, core_loop_easy_fn fn, void *ud,
                       struct core_err *err)
{
    struct loop_easy *e;
    CURLMcode mc;

    if (loop->stopping)
        return core_err_set(err, CORE_E_CANCELLED, "event loop: shutting down, request refused");
    e = core_calloc(1, sizeof *e);
    if (!e)
        return core_err_set(err, CORE_E_NOMEM, "event loop: out of memory");
    e->easy = easy;
    e->fn = fn;
    e->ud = ud;
    curl_easy_setopt(easy, CURLOPT_PRIVATE, (void *)e);
    if (loop->in_perform) {
        /* curl refuses handles from inside its own callbacks: hand it over after perform. */
        loop->pending_adds = 1;
    } else {
        mc = curl_multi_add_handle(loop->multi, easy);
        if (mc != CURLM_OK) {
            core_free(e);
            return core_err_set(err, mc == CURLM_OUT_OF_MEMORY ? CORE_E_NOMEM : CORE_E_TRANSPORT,
                                "event loop: curl_multi_add_handle: %s", curl_multi_strerror(mc));
        }
        e->added = 1;
    }
    e->next = loop->easies;
    if (loop->easies)
        loop->easies->prev = e;
    loop->easies = e;
    loop->nactive++;
    return 0;
}

static void easy_unlink(struct core_loop *loop, struct loop_easy *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        loop->easies = e->next;
    if (e->next)
        e->next->prev = e->prev;
    loop->nactive--;
    if (e->added)
        curl_multi_remove_handle(loop->multi, e->easy);
    e->added = 0;
    curl_easy_setopt(e->easy, CURLOPT_PRIVATE, NULL);
}

void core_loop_remove_easy(struct core_loop *loop, void *easy)
{
    struct loop_easy *e = NULL;
    if (curl_easy_getinfo((CURL *)easy, CURLINFO_PRIVATE, (char **)&e) != CURLE_OK || !e)
        return;
    easy_unlink(loop, e);
    core_free(e);
}

size_t core_loop_active_transfers(const struct core_loop *loop)
{
    return loop->nactive;
}

int core_loop_in_curl(const struct core_loop *loop)
{
    return loop->in_perform;
}

/* Hands transfers added during perform to curl; one that curl refuses completes with an error. */
static void add_pending(struct core_loop *loop)
{
    struct loop_easy *e = loop->easies, *next;
    loop->pending_adds = 0;
    for (; e; e = next) {
        next = e->next;
        if (e->added)
            continue;
        if (curl_multi_add_handle(loop->multi, e->easy) == CURLM_OK) {
            e->added = 1;
        } else {
            core_loop_easy_fn fn = e->fn;
            void *ud = e->ud;
            easy_unlink(loop, e);
            core_free(e);
            fn(ud, CURLE_OUT_OF_MEMORY);
            next = loop->easies; /* the callback may have changed the list: start over */
        }
    }
}

void core_loop_hold(struct core_loop *loop)
{
    loop->holds++;
}

void core_loop_release(struct core_loop *loop)
{
    if (loop->holds > 0)
        loop->holds--;
}

static void complete_transfers(struct core_loop *loop)
{
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(loop->multi, &left)) != NULL) {
        struct loop_easy *e = NULL;
        core_loop_easy_fn fn;
        void *ud;
        int result;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&e);
        if (!e)
            continue;
        result = (int)msg->data.result;
        fn = e->fn;
        ud = e->ud;
        easy_unlink(loop, e);
        core_free(e);
        fn(ud, result);
    }
}

static void cancel_transfers(struct core_loop *loop)
{
    while (loop->easies) {
        struct loop_easy *e = loop->easies;
        core_loop_easy_fn fn = e->fn;
        void *ud = e->ud;
        easy_unlink(loop, e);
        core_free(e);
        fn(ud, CORE_LOOP_EASY_CANCELLED);
    }
}

/* ---- file descriptors ---------------------------------------------------------------------- */

int core_loop_watch_fd(struct core_loop *loop, int fd, int events, core_loop_fd_fn fn, void *ud)
{
    if (fd < 0 || !fn || !(events & (CORE_LOOP_READ | CORE_LOOP_WRITE)))
        return CORE_E_INVAL;
    for (size_t i = 0; i < loop->nfds; i++)
        if (loop->fds[i].fd == fd) {
            loop->fds[i].events = events;
            loop->fds[i].fn = fn;
            loop->fds[i].ud = ud;
            return 0;
        }
    if (loop->nfds == CORE_LOOP_MAX_FDS)
        return CORE_E_TOOBIG;
    loop->fds[loop->nfds].fd = fd;
    loop->fds[loop->nfds].events = events;
    loop->fds[loop->nfds].fn = fn;
    loop->fds[loop->nfds].ud = ud;
    loop->nfds++;
    return 0;
}

void core_loop_unwatch_fd(struct core_loop *loop, int fd)
{
    for (size_t i = 0; i < loop->nfds; i++)
        if (loop->fds[i].fd == fd) {
            loop->fds[i] = loop->fds[loop->nfds - 1];
            loop->nfds--;
            return;
        }
}

/* curl's extra_fds report only IN/PRI/OUT, and a pipe at EOF shows only POLLHUP: so curl's
 * poll is used to wake up, and a zero-timeout poll of our own tells what is ready. */
static void dispatch_fds(struct core_loop *loop)
{
    struct pollfd p[CORE_LOOP_MAX_FDS];
    size_t n = loop->nfds;

    for (size_t i = 0; i < n; i++) {
        p[i].fd = loop->fds[i].fd;
        p[i].events = (short)(((loop->fds[i].events & CORE_LOOP_READ) ? POLLIN : 0) |
                              ((loop->fds[i].events & CORE_LOOP_WRITE) ? POLLOUT : 0));
        p[i].revents = 0;
    }
    if (poll(p, (nfds_t)n, 0) <= 0)
        return;
    for (size_t i = 0; i < n; i++) {
        int ev = 0;
        if (!p[i].revents)
            continue;
        if (p[i].revents & (POLLIN | POLLPRI | POLLHUP | POLLERR | POLLNVAL))
            ev |= CORE_LOOP_READ; /* hang-up and errors: let the reader see EOF or the error */
        if (p[i].revents & POLLOUT)
            ev |= CORE_LOOP_WRITE;
        /* By descriptor, not index: a callback may unwatch others. */
        for (size_t j = 0; j < loop->nfds; j++)
            if (loop->fds[j].fd == p[i].fd) {
                loop->fds[j].fn(loop->fds[j].ud, p[i].fd, ev);
                break;
            }
    }
}

/* ---- shutdown ------------------------------------------------------------------------------ */

int core_loop_on_shutdown(struct core_loop *loop, core_loop_shutdown_fn fn, void *ud)
{
    struct loop_hook *nh = core_realloc(loop->hooks, (loop->nhooks + 1) * sizeof *nh);
    if (!nh)
        return CORE_E_NOMEM;
    loop->hooks = nh;
    loop->hooks[loop->nhooks].fn = fn;
    loop->hooks[loop->nhooks].ud = ud;
    loop->nhooks++;
    return 0;
}

static void begin_shutdown(struct core_loop *loop, int signo)
{
    if (loop->stopping) {
        /* A second signal means "now": skip the rest of the grace period. */
        if (signo)
            loop->stop_deadline = core_clock_mono(loop->clock);
        return;
    }
    loop->stopping = 1;
    loop->stop_signal = signo;
    loop->stop_deadline = core_clock_mono(loop->clock) + loop->grace;
    for (size_t i = 0; i < loop->nhooks; i++)
        loop->hooks[i].fn(loop->hooks[i].ud);
}

void core_loop_stop(struct core_loop *loop)
{
    begin_shutdown(loop, 0);
}

int core_loop_stopping(const struct core_loop *loop)
{
    return loop->stopping;
}

int core_loop_stop_signal(const struct core_loop *loop)
{
    return loop->stop_signal;
}

static void read_signals(struct core_loop *loop)
{
    struct signalfd_siginfo si;
    if (loop->sigfd < 0)
        return;
    while (read(loop->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        begin_shutdown(loop, (int)si.ssi_signo);
}

/* ---- running ------------------------------------------------------------------------------- */

static int loop_has_work(const struct core_loop *loop)
{
    if (loop->stopping)
        return loop->nactive > 0 || loop->holds > 0;
    return loop->nheap > 0 || loop->nactive > 0 || loop->holds > 0 || loop->nfds > 0;
}

int core_loop_run_once(struct core_loop *loop, core_ns max_wait, struct core_err *err)
{
    core_ns now = core_clock_mono(loop->clock);
    core_ns wait = -1; /* -1 = no timer bound */
    long curl_ms = -1;
    int running = 0, virt = core_clock_is_virtual(loop->clock);
    CURLMcode mc;

    if (loop->stopping) {
        if (!loop_has_work(loop))
            return 0;
        if (now >= loop->stop_deadline) {
            cancel_transfers(loop);
            return 0;
        }
    } else if (!loop_has_work(loop)) {
        return 0;
    }

    if (loop->nheap > 0)
        wait = loop->heap[0]->deadline > now ? loop->heap[0]->deadline - now : 0;
    if (loop->stopping) {
        core_ns left = loop->stop_deadline - now;
        if (wait < 0 || left < wait)
            wait = left;
    }
    if (max_wait >= 0 && (wait < 0 || max_wait < wait))
        wait = max_wait;

    if (virt && loop->nactive == 0 && (loop->nfds == 0 || loop->nheap > 0)) {
        /* Nothing on real sockets: time is ours to move. Signals and watched descriptors are
         * still looked at, without blocking. */
        read_signals(loop);
        if (loop->nfds)
            dispatch_fds(loop);
        if (wait > 0)
            core_clock_advance(loop->clock, wait);
        else if (wait < 0 && loop->holds > 0 && loop->nheap == 0)
            return core_err_set(err, CORE_E_STATE,
                                "event loop: work is held but nothing can complete it");
    } else {
        struct curl_waitfd extra[1 + CORE_LOOP_MAX_FDS];
        unsigned nextra = 0, nwatched = (unsigned)loop->nfds;
        int timeout_ms, numfds = 0;

        /* Watched descriptors first (their order matches loop->fds), the signalfd last. */
        for (unsigned i = 0; i < nwatched; i++) {
            extra[nextra].fd = loop->fds[i].fd;
            extra[nextra].events = (short)(((loop->fds[i].events & CORE_LOOP_READ) ? CURL_WAIT_POLLIN : 0) |
                                           ((loop->fds[i].events & CORE_LOOP_WRITE) ? CURL_WAIT_POLLOUT : 0));
            extra[nextra].revents = 0;
            nextra++;
        }
        if (loop->sigfd >= 0) {
            extra[nextra].fd = loop->sigfd;
            extra[nextra].events = CURL_WAIT_POLLIN;
            extra[nextra].revents = 0;
            nextra++;
        }
        curl_multi_timeout(loop->multi, &curl_ms);
        /* At most a second per poll: a far timer (days away) must not overflow the int. */
        if (wait < 0 || wait > 1000 * CORE_NS_PER_MS)
            timeout_ms = 1000;
        else
            timeout_ms = (int)((wait + CORE_NS_PER_MS - 1) / CORE_NS_PER_MS);
        if (virt && timeout_ms > LOOP_VIRTUAL_POLL_MS)
            timeout_ms = LOOP_VIRTUAL_POLL_MS;
        if (curl_ms >= 0 && curl_ms < timeout_ms)
            timeout_ms = (int)curl_ms;
        mc = curl_multi_poll(loop->multi, nextra ? extra : NULL, nextra, timeout_ms, &numfds);
        if (mc != CURLM_OK && mc != CURLM_UNRECOVERABLE_POLL)
            return core_err_set(err, CORE_E_TRANSPORT, "event loop: curl_multi_poll: %s",
                                curl_multi_strerror(mc));
        if (loop->sigfd >= 0 && extra[nextra - 1].revents)
            read_signals(loop);
        if (nwatched)
            dispatch_fds(loop);
        loop->in_perform = 1;
        mc = curl_multi_perform(loop->multi, &running);
        loop->in_perform = 0;
        if (loop->pending_adds)
            add_pending(loop);
        if (mc != CURLM_OK)
            return core_err_set(err, CORE_E_TRANSPORT, "event loop: curl_multi_perform: %s",
                                curl_multi_strerror(mc));
        complete_transfers(loop);
    }
    fire_timers(loop);

    if (loop->stopping && core_clock_mono(loop->clock) >= loop->stop_deadline &&
        loop_has_work(loop)) {
        cancel_transfers(loop);
        return 0;
    }
    return loop_has_work(loop) ? 1 : 0;
}

int core_loop_run(struct core_loop *loop, struct core_err *err)
{
    int rc;
    while ((rc = core_loop_run_once(loop, -1, err)) > 0)
        ;
    return rc;
}

int core_loop_run_until(struct core_loop *loop, const int *flag, core_ns deadline,
                        struct core_err *err)
{
    while (!*flag) {
        core_ns now = core_clock_mono(loop->clock);
        int rc;
        if (now >= deadline)
            return core_err_set(err, CORE_E_TIMEOUT, "event loop: deadline passed");
        rc = core_loop_run_once(loop, deadline - now, err);
        if (rc < 0)
            return rc;
        if (rc == 0 && !*flag)
            return core_err_set(err, CORE_E_TIMEOUT, "event loop: finished before the flag");
    }
    return 0;
}
