/*
 * core/clock.c — the injectable clock: real (CLOCK_MONOTONIC + CLOCK_REALTIME) or virtual.
 *
 * Invariants: monotonic time never goes backwards; a virtual clock's wall time is its start
 * wall time plus the monotonic distance travelled, so both move together and a simulation run
 * is reproducible from its start values.
 */
#include "core/core.h"

#include <stdio.h>
#include <string.h>
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

void core_time_rfc3339_micro(core_ns wall, char *out, size_t outsz)
{
    char base[24];
    long micros = (long)((wall % CORE_NS_PER_S) / 1000);
    core_time_rfc3339(wall, base, sizeof base);
    if (micros < 0)
        micros += 1000000;
    if (strlen(base) != 20 || outsz < CORE_TIME_MICRO_LEN) {
        core_strlcpy(out, base, outsz);
        return;
    }
    /* "YYYY-MM-DDTHH:MM:SS" + ".uuuuuuZ" */
    snprintf(out, outsz, "%.19s.%06ldZ", base, micros);
}

/* Reads exactly n digits at *p into *v, advancing *p. */
static int read_digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

int core_time_parse_rfc3339(const char *s, core_ns *out)
{
    const char *p = s;
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    core_ns frac = 0, scale = CORE_NS_PER_S;
    struct tm tm;
    time_t t;

    if (!s || read_digits(&p, 4, &y) || *p++ != '-' || read_digits(&p, 2, &mo) || *p++ != '-' ||
        read_digits(&p, 2, &d))
        return CORE_E_PARSE;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return CORE_E_PARSE;
    p++;
    if (read_digits(&p, 2, &h) || *p++ != ':' || read_digits(&p, 2, &mi) || *p++ != ':' ||
        read_digits(&p, 2, &sec))
        return CORE_E_PARSE;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return CORE_E_PARSE;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale > 1) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
        if (read_digits(&p, 2, &oh) || *p++ != ':' || read_digits(&p, 2, &om) || oh > 23 ||
            om > 59)
            return CORE_E_PARSE;
    } else {
        return CORE_E_PARSE;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 60)
        return CORE_E_PARSE;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    /* core_ns spans about 1678..2262; a time outside it is not one stoker can hold. */
    if ((int64_t)t > INT64_MAX / CORE_NS_PER_S - 86400 ||
        (int64_t)t < INT64_MIN / CORE_NS_PER_S + 86400)
        return CORE_E_PARSE;
    *out = ((core_ns)t - (core_ns)sign * (oh * 3600 + om * 60)) * CORE_NS_PER_S + frac;
    return 0;
}
