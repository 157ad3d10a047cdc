/*
 * core/wq.c — the controllers' work queue, driven by the event loop.
 *
 * Invariants:
 *  - A key is in at most one of: waiting in the FIFO, being processed. A key added while it
 *    waits is not added twice; a key added while it is processed is marked dirty and goes back
 *    into the FIFO when core_wq_done is called, so it is never processed twice at once.
 *  - At most max_inflight keys are processed at a time.
 *  - Handlers are called from a loop timer, never from inside core_wq_add or core_wq_done, so a
 *    handler that finishes synchronously cannot recurse into itself.
 *  - A key's item is freed once it is idle (not queued, not processing, no pending delay, no
 *    recorded failures), so the queue's memory tracks live work, not every key ever seen.
 *  - The key passed to a handler stays valid for the whole handler call, even if the handler
 *    calls core_wq_done before returning.
 */
#include "core/core.h"

#include <math.h>
#include <string.h>

struct wq_item {
    char *key;
    int queued;
    int processing;
    int dirty;      /* added again while processing */
    int in_handler; /* the handler is on the stack: do not free */
    unsigned failures;
    struct core_timer *delay_timer;
    core_ns delay_deadline;
    struct wq_item *next; /* FIFO link */
    struct core_wq *wq;
};

struct core_wq {
    struct core_loop *loop;
    core_wq_handler fn;
    void *ud;
    struct core_wq_opts opts;
    struct core_map *items;
    struct wq_item *head, *tail;
    size_t nqueued;
    size_t ninflight;
    struct core_timer *dispatch;
    double tokens;
    core_ns bucket_last;
    int shut;
};

#define WQ_DEFAULT_BASE (5 * CORE_NS_PER_MS)
#define WQ_DEFAULT_CAP (1000 * CORE_NS_PER_S)
#define WQ_DEFAULT_QPS 10.0
#define WQ_DEFAULT_BURST 100u

static void wq_dispatch(void *ud);

int core_wq_new(struct core_loop *loop, const struct core_wq_opts *opts, core_wq_handler fn,
                void *ud, struct core_wq **out, struct core_err *err)
{
    struct core_wq *wq = core_calloc(1, sizeof *wq);
    if (!wq)
        return core_err_set(err, CORE_E_NOMEM, "work queue: out of memory");
    if (opts)
        wq->opts = *opts;
    if (wq->opts.backoff_base <= 0)
        wq->opts.backoff_base = WQ_DEFAULT_BASE;
    if (wq->opts.backoff_cap <= 0)
        wq->opts.backoff_cap = WQ_DEFAULT_CAP;
    if (wq->opts.qps <= 0)
        wq->opts.qps = WQ_DEFAULT_QPS;
    if (wq->opts.burst == 0)
        wq->opts.burst = WQ_DEFAULT_BURST;
    if (wq->opts.max_inflight == 0)
        wq->opts.max_inflight = 1;
    wq->items = core_map_new();
    if (!wq->items) {
        core_free(wq);
        return core_err_set(err, CORE_E_NOMEM, "work queue: out of memory");
    }
    wq->loop = loop;
    wq->fn = fn;
    wq->ud = ud;
    wq->tokens = (double)wq->opts.burst;
    wq->bucket_last = core_loop_now(loop);
    *out = wq;
    return 0;
}

static void item_free(struct wq_item *it)
{
    core_free(it->key);
    core_free(it);
}

void core_wq_free(struct core_wq *wq)
{
    size_t iter = 0;
    void *val;

    if (!wq)
        return;
    if (wq->dispatch)
        core_loop_timer_cancel(wq->loop, wq->dispatch);
    while (core_map_next(wq->items, &iter, NULL, &val)) {
        struct wq_item *it = val;
        if (it->delay_timer)
            core_loop_timer_cancel(wq->loop, it->delay_timer);
        item_free(it);
    }
    core_map_free(wq->items);
    core_free(wq);
}

static void item_maybe_free(struct core_wq *wq, struct wq_item *it)
{
    if (it->queued || it->processing || it->in_handler || it->delay_timer || it->failures)
        return;
    core_map_del(wq->items, it->key);
    item_free(it);
}

static struct wq_item *item_get(struct core_wq *wq, const char *key, int create)
{
    struct wq_item *it = core_map_get(wq->items, key, NULL);
    if (it || !create)
        return it;
    it = core_calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->key = core_strdup(key);
    it->wq = wq;
    if (!it->key || core_map_set(wq->items, key, it, NULL) != 0) {
        item_free(it);
        return NULL;
    }
    return it;
}

static int schedule_dispatch(struct core_wq *wq)
{
    if (wq->dispatch || wq->shut || !wq->head || wq->ninflight >= wq->opts.max_inflight)
        return 0;
    wq->dispatch = core_loop_timer_add(wq->loop, 0, wq_dispatch, wq);
    return wq->dispatch ? 0 : CORE_E_NOMEM;
}

static int item_enqueue(struct core_wq *wq, struct wq_item *it)
{
    if (it->processing) {
        it->dirty = 1;
        return 0;
    }
    if (it->queued)
        return 0;
    it->queued = 1;
    it->next = NULL;
    if (wq->tail)
        wq->tail->next = it;
    else
        wq->head = it;
    wq->tail = it;
    wq->nqueued++;
    return schedule_dispatch(wq);
}

int core_wq_add(struct core_wq *wq, const char *key)
{
    struct wq_item *it;
    if (wq->shut)
        return CORE_E_CANCELLED;
    it = item_get(wq, key, 1);
    if (!it)
        return CORE_E_NOMEM;
    return item_enqueue(wq, it);
}

static void wq_delay_fired(void *ud)
{
    struct wq_item *it = ud;
    struct core_wq *wq = it->wq;
    it->delay_timer = NULL;
    if (item_enqueue(wq, it) != 0) {
        /* Out of memory for the dispatch timer: the key stays queued and the next add or done
         * schedules dispatch again; nothing is lost. */
    }
    item_maybe_free(wq, it);
}

int core_wq_add_after(struct core_wq *wq, const char *key, core_ns delay)
{
    struct wq_item *it;
    core_ns deadline;

    if (delay <= 0)
        return core_wq_add(wq, key);
    if (wq->shut)
        return CORE_E_CANCELLED;
    it = item_get(wq, key, 1);
    if (!it)
        return CORE_E_NOMEM;
    deadline = core_loop_now(wq->loop) + delay;
    if (it->delay_timer) {
        if (it->delay_deadline <= deadline)
            return 0;
        core_loop_timer_cancel(wq->loop, it->delay_timer);
        it->delay_timer = NULL;
    }
    it->delay_timer = core_loop_timer_add(wq->loop, delay, wq_delay_fired, it);
    if (!it->delay_timer) {
        item_maybe_free(wq, it);
        return CORE_E_NOMEM;
    }
    it->delay_deadline = deadline;
    return 0;
}

/* Per-key exponential backoff: base * 2^(failures-1), capped. */
static core_ns item_backoff(const struct core_wq *wq, unsigned failures)
{
    double d = (double)wq->opts.backoff_base * ldexp(1.0, (int)(failures > 62 ? 62 : failures) - 1);
    if (d > (double)wq->opts.backoff_cap)
        return wq->opts.backoff_cap;
    return (core_ns)d;
}

/* Overall token bucket: each rate-limited add takes a token; without one it waits for the
 * refill. Tokens may go negative: that is the queue of reservations. */
static core_ns bucket_delay(struct core_wq *wq)
{
    core_ns now = core_loop_now(wq->loop);
    double elapsed = (double)(now - wq->bucket_last) / (double)CORE_NS_PER_S;

    wq->bucket_last = now;
    wq->tokens += elapsed * wq->opts.qps;
    if (wq->tokens > (double)wq->opts.burst)
        wq->tokens = (double)wq->opts.burst;
    wq->tokens -= 1.0;
    if (wq->tokens >= 0)
        return 0;
    return (core_ns)(-wq->tokens / wq->opts.qps * (double)CORE_NS_PER_S);
}

int core_wq_add_rate_limited(struct core_wq *wq, const char *key)
{
    struct wq_item *it;
    core_ns d, b;

    if (wq->shut)
        return CORE_E_CANCELLED;
    it = item_get(wq, key, 1);
    if (!it)
        return CORE_E_NOMEM;
    it->failures++;
    d = item_backoff(wq, it->failures);
    b = bucket_delay(wq);
    return core_wq_add_after(wq, key, d > b ? d : b);
}

void core_wq_done(struct core_wq *wq, const char *key, enum core_wq_result result)
{
    struct wq_item *it = item_get(wq, key, 0);

    if (!it || !it->processing)
        return;
    it->processing = 0;
    wq->ninflight--;
    if (result == CORE_WQ_OK) {
        it->failures = 0;
    } else if (!wq->shut) {
        /* The failure is counted on the item itself; if no timer can be had for the retry,
         * the key goes back into the FIFO at once rather than being dropped. */
        if (core_wq_add_rate_limited(wq, key) != 0)
            it->dirty = 1;
    }
    if (it->dirty) {
        it->dirty = 0;
        if (!wq->shut)
            (void)item_enqueue(wq, it);
    }
    (void)schedule_dispatch(wq);
    item_maybe_free(wq, it);
}

void core_wq_forget(struct core_wq *wq, const char *key)
{
    struct wq_item *it = item_get(wq, key, 0);
    if (!it)
        return;
    it->failures = 0;
    item_maybe_free(wq, it);
}

static void wq_dispatch(void *ud)
{
    struct core_wq *wq = ud;

    /* Only the keys queued when this pass began: a handler that re-adds its own key and
     * finishes synchronously gets it back on the next loop turn, not in this pass, so the
     * queue cannot starve I/O and timers. */
    size_t budget = wq->nqueued;

    wq->dispatch = NULL;
    while (budget-- > 0 && !wq->shut && wq->head && wq->ninflight < wq->opts.max_inflight) {
        struct wq_item *it = wq->head;
        wq->head = it->next;
        if (!wq->head)
            wq->tail = NULL;
        it->next = NULL;
        it->queued = 0;
        wq->nqueued--;
        it->processing = 1;
        wq->ninflight++;
        it->in_handler = 1;
        wq->fn(wq->ud, wq, it->key);
        it->in_handler = 0;
        item_maybe_free(wq, it);
    }
    (void)schedule_dispatch(wq);
}

void core_wq_shutdown(struct core_wq *wq)
{
    size_t iter = 0;
    void *val;

    wq->shut = 1;
    if (wq->dispatch) {
        core_loop_timer_cancel(wq->loop, wq->dispatch);
        wq->dispatch = NULL;
    }
    while (core_map_next(wq->items, &iter, NULL, &val)) {
        struct wq_item *it = val;
        if (it->delay_timer) {
            core_loop_timer_cancel(wq->loop, it->delay_timer);
            it->delay_timer = NULL;
        }
    }
}

size_t core_wq_len(const struct core_wq *wq)
{
    return wq->nqueued;
}

size_t core_wq_inflight(const struct core_wq *wq)
{
    return wq->ninflight;
}

unsigned core_wq_failures(const struct core_wq *wq, const char *key)
{
    struct wq_item *it = core_map_get(wq->items, key, NULL);
    return it ? it->failures : 0;
}
