/*
 * tests/unit/test_core_loop.c — the clock and the event loop: timer order and timing under
 * the virtual clock, cancel, fairness of self-rearming timers, graceful shutdown (hooks,
 * holds, grace expiry) and SIGTERM through the signalfd.
 */
#include "tests/unit/harness.h"

#include "core/core.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define MS CORE_NS_PER_MS

struct fired {
    struct core_loop *loop;
    int order[64];
    core_ns at[64];
    int n;
};

struct fire_arg {
    struct fired *f;
    int id;
};

static void on_fire(void *ud)
{
    struct fire_arg *a = ud;
    a->f->order[a->f->n] = a->id;
    a->f->at[a->f->n] = core_loop_now(a->f->loop);
    a->f->n++;
}

static void test_clock_virtual(void)
{
    struct core_clock *c = core_clock_virtual_new(1000, 1700000000LL * CORE_NS_PER_S);
    struct core_clock *r = core_clock_real_new();
    char ts[32];
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT(core_clock_is_virtual(c));
    CU_ASSERT_FALSE(core_clock_is_virtual(r));
    CU_ASSERT_EQUAL(core_clock_mono(c), 1000);
    CU_ASSERT_EQUAL(core_clock_advance(c, 5 * CORE_NS_PER_S), 0);
    CU_ASSERT_EQUAL(core_clock_mono(c), 1000 + 5 * CORE_NS_PER_S);
    CU_ASSERT_EQUAL(core_clock_wall(c), 1700000005LL * CORE_NS_PER_S);
    CU_ASSERT_EQUAL(core_clock_advance(c, -1), CORE_E_INVAL);
    CU_ASSERT_EQUAL(core_clock_set_mono(c, 0), CORE_E_INVAL); /* never backwards */
    CU_ASSERT_EQUAL(core_clock_advance(r, 1), CORE_E_STATE);
    core_time_rfc3339(core_clock_wall(c), ts, sizeof ts);
    CU_ASSERT_STRING_EQUAL(ts, "2023-11-14T22:13:25Z");
    CU_ASSERT(core_clock_mono(r) > 0);
    core_clock_free(c);
    core_clock_free(r);
}

static void test_rfc3339_parse(void)
{
    core_ns t = 42;
    char back[32];
    CU_ASSERT_EQUAL(core_time_parse_rfc3339("2026-11-22T13:00:00Z", &t), 0);
    CU_ASSERT_EQUAL(t, INT64_C(1795352400) * CORE_NS_PER_S);
    core_time_rfc3339(t, back, sizeof back);
    CU_ASSERT_STRING_EQUAL(back, "2026-11-22T13:00:00Z");
    CU_ASSERT_EQUAL(core_time_parse_rfc3339("2026-11-22T14:30:00.250+01:30", &t), 0);
    CU_ASSERT_EQUAL(t, INT64_C(1795352400) * CORE_NS_PER_S + 250 * CORE_NS_PER_MS);
    CU_ASSERT_EQUAL(core_time_parse_rfc3339("2024-02-29 00:00:00-00:00", &t), 0);
    CU_ASSERT_EQUAL(core_time_parse_rfc3339("2015-08-30T12:36:00.123456789123Z", &t), 0);
    CU_ASSERT_EQUAL(t % CORE_NS_PER_S, 123456789);
    t = 42;
    const char *bad[] = {"", "2026-11-22", "2026-11-22T13:00:00", "2026-13-01T00:00:00Z",
                         "2023-02-29T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T13:00:00Zx",
                         "2026-11-22T13:00:00.Z", "2026-11-22T13:00:00+0100", "26-11-22T13:00:00Z",
                         "1013-01-01T00:00:00Z", "9999-12-31T23:59:59Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(core_time_parse_rfc3339(bad[i], &t), CORE_E_PARSE);
    CU_ASSERT_EQUAL(t, 42);
}

static void test_timers_order_and_time(void)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    struct core_err err;
    struct fired f;
    struct fire_arg args[6];
    const core_ns delays[6] = {30 * MS, 10 * MS, 20 * MS, 10 * MS, 0, 30 * MS};

    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, &err), 0);
    f.loop = loop;
    for (int i = 0; i < 6; i++) {
        args[i].f = &f;
        args[i].id = i;
        CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, delays[i], on_fire, &args[i]));
    }
    CU_ASSERT_EQUAL(core_loop_timer_count(loop), 6);
    CU_ASSERT_EQUAL(core_loop_run(loop, &err), 0);
    CU_ASSERT_EQUAL_FATAL(f.n, 6);
    /* By deadline, ties in insertion order. */
    const int want[6] = {4, 1, 3, 2, 0, 5};
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(f.order[i], want[i]);
        CU_ASSERT_EQUAL(f.at[i], delays[want[i]]); /* exactly on time under the virtual clock */
    }
    CU_ASSERT_EQUAL(core_loop_now(loop), 30 * MS);
    core_loop_free(loop);
    core_clock_free(c);
}

static void test_timer_cancel(void)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    struct fired f;
    struct fire_arg args[100];
    struct core_timer *t[100];

    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, NULL), 0);
    f.loop = loop;
    for (int i = 0; i < 100; i++) {
        args[i].f = &f;
        args[i].id = i;
        t[i] = core_loop_timer_add(loop, (core_ns)((i * 37) % 100) * MS, on_fire, &args[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t[i]);
    }
    /* Cancel all but every tenth: removal from the middle of the heap keeps it ordered. */
    for (int i = 0; i < 100; i++)
        if (i % 10)
            core_loop_timer_cancel(loop, t[i]);
    core_loop_timer_cancel(loop, NULL);
    CU_ASSERT_EQUAL(core_loop_timer_count(loop), 10);
    CU_ASSERT_EQUAL(core_loop_run(loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(f.n, 10);
    for (int i = 0; i < 10; i++) {
        CU_ASSERT_EQUAL(f.order[i] % 10, 0);
        if (i)
            CU_ASSERT(f.at[i] >= f.at[i - 1]);
    }
    core_loop_free(loop);
    core_clock_free(c);
}

struct rearm {
    struct core_loop *loop;
    int count;
};

static void on_rearm(void *ud)
{
    struct rearm *r = ud;
    if (++r->count < 1000)
        CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(r->loop, 0, on_rearm, r));
}

static void test_rearm_zero_delay_is_fair(void)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    struct rearm r = {NULL, 0};
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, NULL), 0);
    r.loop = loop;
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 0, on_rearm, &r));
    /* One turn fires it once: a timer added while timers fire waits for the next turn. */
    CU_ASSERT_EQUAL(core_loop_run_once(loop, -1, NULL), 1);
    CU_ASSERT_EQUAL(r.count, 1);
    CU_ASSERT_EQUAL(core_loop_run(loop, NULL), 0);
    CU_ASSERT_EQUAL(r.count, 1000);
    CU_ASSERT_EQUAL(core_loop_now(loop), 0); /* no time passed */
    core_loop_free(loop);
    core_clock_free(c);
}

static void test_real_clock_timer(void)
{
    struct core_clock *c = core_clock_real_new();
    struct core_loop *loop = NULL;
    struct fired f;
    struct fire_arg a;
    core_ns start;
    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, NULL), 0);
    f.loop = loop;
    a.f = &f;
    a.id = 1;
    start = core_loop_now(loop);
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 25 * MS, on_fire, &a));
    CU_ASSERT_EQUAL(core_loop_run(loop, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(f.n, 1);
    CU_ASSERT(f.at[0] - start >= 25 * MS); /* never early */
    core_loop_free(loop);
    core_clock_free(c);
}

static void test_run_until_deadline(void)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    struct fired f;
    struct fire_arg a;
    struct core_err err;
    int flag = 0;
    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, NULL), 0);
    f.loop = loop;
    a.f = &f;
    a.id = 1;
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 10 * CORE_NS_PER_S, on_fire, &a));
    CU_ASSERT_EQUAL(core_loop_run_until(loop, &flag, 3 * CORE_NS_PER_S, &err), CORE_E_TIMEOUT);
    CU_ASSERT_EQUAL(f.n, 0);                           /* the 10 s timer did not fire */
    CU_ASSERT_EQUAL(core_loop_now(loop), 3 * CORE_NS_PER_S); /* time stopped at the deadline */
    core_loop_free(loop); /* a pending timer is freed, not fired */
    CU_ASSERT_EQUAL(f.n, 0);
    core_clock_free(c);
}

struct shut {
    struct core_loop *loop;
    int hooks[4];
    int nhooks;
    int released;
};

static void hook_a(void *ud)
{
    struct shut *s = ud;
    s->hooks[s->nhooks++] = 1;
}

static void hook_b(void *ud)
{
    struct shut *s = ud;
    s->hooks[s->nhooks++] = 2;
}

static void release_hold(void *ud)
{
    struct shut *s = ud;
    core_loop_release(s->loop);
    s->released = 1;
}

static void stop_now(void *ud)
{
    core_loop_stop(((struct shut *)ud)->loop);
}

static void test_shutdown_waits_for_holds(void)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    struct shut s;
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, NULL), 0);
    s.loop = loop;
    CU_ASSERT_EQUAL(core_loop_on_shutdown(loop, hook_a, &s), 0);
    CU_ASSERT_EQUAL(core_loop_on_shutdown(loop, hook_b, &s), 0);
    core_loop_hold(loop);
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 1 * CORE_NS_PER_S, stop_now, &s));
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 3 * CORE_NS_PER_S, release_hold, &s));
    /* A periodic timer far away must not keep a stopping loop alive. */
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 3600 * CORE_NS_PER_S, release_hold, &s));
    CU_ASSERT_EQUAL(core_loop_run(loop, NULL), 0);
    CU_ASSERT_EQUAL(s.nhooks, 2);
    CU_ASSERT_EQUAL(s.hooks[0], 1);
    CU_ASSERT_EQUAL(s.hooks[1], 2);
    CU_ASSERT(s.released);
    CU_ASSERT(core_loop_stopping(loop));
    CU_ASSERT_EQUAL(core_loop_stop_signal(loop), 0);
    CU_ASSERT_EQUAL(core_loop_now(loop), 3 * CORE_NS_PER_S); /* ended when the hold was released */
    core_loop_free(loop);
    core_clock_free(c);
}

static void test_shutdown_grace_expires(void)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    struct core_loop_opts o = {0, 2 * CORE_NS_PER_S};
    struct shut s;
    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, &o, &loop, NULL), 0);
    s.loop = loop;
    core_loop_hold(loop);
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 1 * CORE_NS_PER_S, stop_now, &s));
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 60 * CORE_NS_PER_S, release_hold, &s));
    CU_ASSERT_EQUAL(core_loop_run(loop, NULL), 0);
    CU_ASSERT_FALSE(s.released);
    CU_ASSERT_EQUAL(core_loop_now(loop), 3 * CORE_NS_PER_S); /* stop at 1 s + 2 s grace */
    core_loop_free(loop);
    core_clock_free(c);
}

static void test_sigterm_graceful(void)
{
    struct core_clock *c = core_clock_real_new();
    struct core_loop *loop = NULL;
    struct core_loop_opts o = {1, 0};
    struct core_err err;
    struct shut s;
    core_ns start;
    sigset_t cur;

    memset(&s, 0, sizeof s);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, &o, &loop, &err), 0);
    s.loop = loop;
    CU_ASSERT_EQUAL(core_loop_on_shutdown(loop, hook_a, &s), 0);
    /* Something that would keep the loop busy for a minute. */
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 60 * CORE_NS_PER_S, release_hold, &s));
    start = core_loop_now(loop);
    CU_ASSERT_EQUAL(raise(SIGTERM), 0); /* blocked: it waits in the signalfd */
    CU_ASSERT_EQUAL(core_loop_run(loop, &err), 0);
    CU_ASSERT_EQUAL(core_loop_stop_signal(loop), SIGTERM);
    CU_ASSERT_EQUAL(s.nhooks, 1);
    CU_ASSERT_FALSE(s.released);
    CU_ASSERT(core_loop_now(loop) - start < 5 * CORE_NS_PER_S);
    core_loop_free(loop);
    /* The signal mask is restored. */
    CU_ASSERT_EQUAL(pthread_sigmask(SIG_SETMASK, NULL, &cur), 0);
    CU_ASSERT_FALSE(sigismember(&cur, SIGTERM));
    core_clock_free(c);
}


struct pipe_rx {
    struct core_loop *loop;
    int wfd;
    char got[64];
    size_t n;
    int eof;
    int calls;
};

static void on_pipe(void *ud, int fd, int events)
{
    struct pipe_rx *r = ud;
    ssize_t k;
    r->calls++;
    CU_ASSERT(events & CORE_LOOP_READ);
    k = read(fd, r->got + r->n, sizeof r->got - 1 - r->n);
    if (k > 0) {
        r->n += (size_t)k;
    } else {
        r->eof = 1;
        core_loop_unwatch_fd(r->loop, fd);
    }
}

static void write_then_close(void *ud)
{
    struct pipe_rx *r = ud;
    CU_ASSERT_EQUAL(write(r->wfd, "hello", 5), 5);
    close(r->wfd);
}

static void test_watch_fd_data_and_eof(void)
{
    for (int virt = 0; virt < 2; virt++) {
        struct core_clock *c = virt ? core_clock_virtual_new(0, 0) : core_clock_real_new();
        struct core_loop *loop = NULL;
        struct pipe_rx r;
        int p[2];
        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL_FATAL(pipe(p), 0);
        CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, NULL), 0);
        r.loop = loop;
        r.wfd = p[1];
        CU_ASSERT_EQUAL(core_loop_watch_fd(loop, p[0], CORE_LOOP_READ, on_pipe, &r), 0);
        CU_ASSERT_EQUAL(core_loop_watch_fd(loop, -1, CORE_LOOP_READ, on_pipe, &r), CORE_E_INVAL);
        CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 5 * MS, write_then_close, &r));
        /* The loop runs until the reader saw EOF and stopped watching: nothing else is left. */
        CU_ASSERT_EQUAL(core_loop_run(loop, NULL), 0);
        CU_ASSERT(r.eof);
        CU_ASSERT_STRING_EQUAL(r.got, "hello");
        CU_ASSERT(r.calls >= 2);
        close(p[0]);
        core_loop_free(loop);
        core_clock_free(c);
    }
}

static void test_timer_add_nomem(void)
{
    struct core_clock *c = core_clock_virtual_new(0, 0);
    struct core_loop *loop = NULL;
    struct fired f;
    struct fire_arg a[3];
    int added = 0;
    memset(&f, 0, sizeof f);
    CU_ASSERT_EQUAL_FATAL(core_loop_new(c, NULL, &loop, NULL), 0);
    f.loop = loop;
    for (int i = 0; i < 3; i++) {
        a[i].f = &f;
        a[i].id = i;
    }
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 5, on_fire, &a[0]));
    core_alloc_fail_after(1);
    CU_ASSERT_PTR_NULL(core_loop_timer_add(loop, 1, on_fire, &a[1]));
    core_alloc_fail_after(0);
    CU_ASSERT_PTR_NOT_NULL(core_loop_timer_add(loop, 3, on_fire, &a[2]));
    added = (int)core_loop_timer_count(loop);
    CU_ASSERT_EQUAL(added, 2);
    CU_ASSERT_EQUAL(core_loop_run(loop, NULL), 0);
    CU_ASSERT_EQUAL(f.n, 2);
    CU_ASSERT_EQUAL(f.order[0], 2);
    CU_ASSERT_EQUAL(f.order[1], 0);
    core_loop_free(loop);
    /* core_loop_new itself under allocation failure: a clean error, never a crash. */
    for (unsigned long n = 1; n < 50; n++) {
        struct core_loop *l2 = NULL;
        struct core_err err;
        int rc;
        core_alloc_fail_after(n);
        rc = core_loop_new(c, NULL, &l2, &err);
        core_alloc_fail_after(0);
        if (rc == 0) {
            core_loop_free(l2);
            break;
        }
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
        CU_ASSERT_PTR_NULL(l2);
    }
    core_clock_free(c);
}

TESTS_SUITE(core_loop, "core_loop", NULL, NULL, TESTS_CASE(test_clock_virtual), TESTS_CASE(test_rfc3339_parse),
            TESTS_CASE(test_timers_order_and_time), TESTS_CASE(test_timer_cancel),
            TESTS_CASE(test_rearm_zero_delay_is_fair), TESTS_CASE(test_real_clock_timer),
            TESTS_CASE(test_run_until_deadline), TESTS_CASE(test_shutdown_waits_for_holds),
            TESTS_CASE(test_shutdown_grace_expires), TESTS_CASE(test_sigterm_graceful),
            TESTS_CASE(test_timer_add_nomem), TESTS_CASE(test_watch_fd_data_and_eof))
