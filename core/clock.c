/*
 * core/clock.c — the injectable clock: real (CLOCK_MONOTONIC + CLOCK_REALTIME) or virtual.
 *
 * Invariants: monotonic time never goes backwards; a virtual clock's wall time is its start
 * wall time plus the monotonic distance travelled, so both move together and a simulation run
 * is reproducible from its start values.
 */
#include "core/core.h"

#include <stdio.h>
#include <time.h>

struct core_clock {
    int virt;
    core_ns mono;       /* virtual only */
    core_ns mono_start; /* virtual only */
    core_ns wall_start; /* virtual only */
};

struct core_clock *core_clock_real_new(void)
{
    return core_calloc(1, sizeof(struct core_clock));
}

struct core_clock *core_clock_virtual_new(core_ns mono_start, core_ns wall_start)
{
    struct core_clock *c = core_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->virt = 1;
    c->mono = mono_start;
    c->mono_start = mono_start;
    c->wall_start = wall_start;
    return c;
}

void core_clock_free(struct core_clock *c)
{
    core_free(c);
}

static core_ns read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (core_ns)ts.tv_sec * CORE_NS_PER_S + ts.tv_nsec;
}

core_ns core_clock_mono(const struct core_clock *c)
{
    return c->virt ? c->mono : read_clock(CLOCK_MONOTONIC);
}

core_ns core_clock_wall(const struct core_clock *c)
{
    return c->virt ? c->wall_start + (c->mono - c->mono_start) : read_clock(CLOCK_REALTIME);
}

int core_clock_is_virtual(const struct core_clock *c)
{
    return c->virt;
}

int core_clock_advance(struct core_clock *c, core_ns d)
{
    if (!c->virt)
        return CORE_E_STATE;
    if (d < 0)
        return CORE_E_INVAL;
    c->mono += d;
    return 0;
}

int core_clock_set_mono(struct core_clock *c, core_ns t)
{
    if (!c->virt)
        return CORE_E_STATE;
    if (t < c->mono)
        return CORE_E_INVAL;
    c->mono = t;
    return 0;
}

void core_time_rfc3339(core_ns wall, char *out, size_t outsz)
{
    time_t secs = (time_t)(wall / CORE_NS_PER_S);
    struct tm tm;

    if (wall < 0 && wall % CORE_NS_PER_S)
        secs--;
    if (!gmtime_r(&secs, &tm) || strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        if (outsz)
            out[0] = '\0';
    }
}
