/*
 * prewarm/tz.c — UTC offsets of IANA time zones, from the compiled zone files (TZif, RFC 8536)
 * that Debian's tzdata installs under /usr/share/zoneinfo, so cron schedules of WarmPools fire
 * at the local times their authors wrote.
 *
 * Invariants:
 *  - Every read of file bytes is bounds-checked against the length first; counts from the file
 *    are checked against the bytes actually present before anything is allocated from them.
 *  - A zone name is accepted only when it is a relative path of [A-Za-z0-9_+-/] with no empty
 *    segment, so no name can leave the zone directory (no '.', no leading '/').
 *  - For instants after the last transition of a v2+ file the POSIX TZ footer decides (std and
 *    dst offsets, each less than a day as the types' are; rules Jn, n and Mm.w.d with times up
 *    to ±167 h as v3 allows); a dst zone with no rule uses the US rule (M3.2.0,M11.1.0), as
 *    POSIX implementations do.
 *  - Nothing here reads a clock or logs; the parsed zone is immutable.
 */
#include "prewarm/internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define TZ_DIR "/usr/share/zoneinfo/"
#define TZ_NAME_MAX 255
#define TZ_HEADER 44

struct tz_date {
    char kind;      /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
    int n, m, w, d;
    int32_t time;   /* seconds after local midnight (may be negative or > 24 h in v3) */
};

struct tz_rule {
    int32_t std_off, dst_off; /* seconds east of UTC */
    int has_dst;
    struct tz_date start, end;
};

struct prewarm_tz {
    int64_t *trans;
    uint8_t *idx;
    size_t ntrans;
    int32_t *offs;
    size_t ntypes;
    int has_rule;
    struct tz_rule rule;
};

/* ---- calendar ----------------------------------------------------------------------------- */

/* Howard Hinnant's days-from-civil algorithm (public domain arithmetic, restated). */
int64_t prewarm_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void prewarm_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp, yy;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    yy = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_len(int64_t y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- POSIX TZ footer ---------------------------------------------------------------------- */

static int parse_name(const char **sp)
{
    const char *s = *sp;
    size_t n = 0;
    if (*s == '<') {
        s++;
        while (*s && *s != '>') {
            if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                  (*s >= '0' && *s <= '9') || *s == '+' || *s == '-'))
                return -1;
            s++;
            n++;
        }
        if (*s != '>' || n == 0)
            return -1;
        *sp = s + 1;
        return 0;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
        s++;
        n++;
    }
    if (n == 0)
        return -1;
    *sp = s;
    return 0;
}

/* [+-]hh[:mm[:ss]] with hh <= maxh; the value in seconds, sign applied. */
static int parse_hms(const char **sp, int maxh, int32_t *out)
{
    const char *s = *sp;
    int sign = 1, parts[3] = {0, 0, 0};
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    for (int p = 0; p < 3; p++) {
        int v = 0, digits = 0;
        if (p > 0) {
            if (*s != ':')
                break;
            s++;
        }
        while (*s >= '0' && *s <= '9' && digits < 3) {
            v = v * 10 + (*s - '0');
            s++;
            digits++;
        }
        if (digits == 0 || (p > 0 && (digits != 2 || v > 59)) || (p == 0 && v > maxh))
            return -1;
        parts[p] = v;
    }
    *out = (int32_t)(sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]));
    *sp = s;
    return 0;
}

static int parse_uint(const char **sp, int max, int *out)
{
    const char *s = *sp;
    int v = 0, digits = 0;
    while (*s >= '0' && *s <= '9' && digits < 4) {
        v = v * 10 + (*s - '0');
        s++;
        digits++;
    }
    if (digits == 0 || v > max)
        return -1;
    *out = v;
    *sp = s;
    return 0;
}

static int parse_date(const char **sp, struct tz_date *d)
{
    const char *s = *sp;
    memset(d, 0, sizeof *d);
    if (*s == 'J') {
        s++;
        d->kind = 'J';
        if (parse_uint(&s, 365, &d->n) != 0 || d->n < 1)
            return -1;
    } else if (*s == 'M') {
        s++;
        d->kind = 'M';
        if (parse_uint(&s, 12, &d->m) != 0 || d->m < 1 || *s++ != '.' ||
            parse_uint(&s, 5, &d->w) != 0 || d->w < 1 || *s++ != '.' ||
            parse_uint(&s, 6, &d->d) != 0)
            return -1;
    } else {
        d->kind = 'N';
        if (parse_uint(&s, 365, &d->n) != 0)
            return -1;
    }
    d->time = 7200;
    if (*s == '/') {
        s++;
        if (parse_hms(&s, 167, &d->time) != 0)
            return -1;
    }
    *sp = s;
    return 0;
}

/* Parses a whole footer string (NUL-terminated). Returns 0 with *has_rule set (0 for ""). */
static int parse_footer(const char *s, struct tz_rule *r, int *has_rule)
{
    int32_t v;
    memset(r, 0, sizeof *r);
    if (*s == '\0') {
        *has_rule = 0;
        return 0;
    }
    if (parse_name(&s) != 0 || parse_hms(&s, 24, &v) != 0)
        return -1;
    r->std_off = -v;
    if (*s != '\0') {
        if (parse_name(&s) != 0)
            return -1;
        r->has_dst = 1;
        r->dst_off = r->std_off + 3600;
        if (*s != ',' && *s != '\0') {
            if (parse_hms(&s, 24, &v) != 0)
                return -1;
            r->dst_off = -v;
        }
        if (*s == ',') {
            s++;
            if (parse_date(&s, &r->start) != 0 || *s++ != ',' || parse_date(&s, &r->end) != 0)
                return -1;
        } else {
            r->start = (struct tz_date){'M', 0, 3, 2, 0, 7200};
            r->end = (struct tz_date){'M', 0, 11, 1, 0, 7200};
        }
        if (*s != '\0')
            return -1;
    }
    /* As for the types: an offset of a day or more is no real zone, and everything that
     * turns local times into UTC relies on offsets within a day. */
    if (r->std_off <= -86400 || r->std_off >= 86400 ||
        (r->has_dst && (r->dst_off <= -86400 || r->dst_off >= 86400)))
        return -1;
    *has_rule = 1;
    return 0;
}

/* The day (since the epoch) a rule date falls on in year y. */
static int64_t rule_day(const struct tz_date *d, int64_t y)
{
    int64_t jan1 = prewarm_days_from_civil(y, 1, 1), first;
    int dow, day;
    switch (d->kind) {
    case 'J':
        return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60 ? 1 : 0);
    case 'N':
        return jan1 + d->n;
    default:
        first = prewarm_days_from_civil(y, d->m, 1);
        dow = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        day = 1 + (d->d - dow + 7) % 7 + (d->w - 1) * 7;
        while (day > month_len(y, d->m))
            day -= 7;
        return first + day - 1;
    }
}

static void rule_lookup(const struct tz_rule *r, int64_t t, int32_t *off, int64_t *until)
{
    int64_t y, last = INT64_MIN, next = INT64_MAX;
    int m, d, dst = 0;

    if (!r->has_dst) {
        *off = r->std_off;
        *until = INT64_MAX;
        return;
    }
    prewarm_civil_from_days(floor_div(t, 86400), &y, &m, &d);
    /* Rule times reach ±167 h, so a year's transitions may fall days into the next or the
     * previous year: the state at t is that of the last transition at or before t among years
     * y-2..y+2 (wide enough for both that one and the first after t). At equal instants the
     * start wins, so a rule that starts as it ends is daylight time throughout. The start is
     * written in standard time, the end in daylight time. */
    for (int64_t yy = y - 2; yy <= y + 2; yy++) {
        int64_t ev[2];
        ev[0] = rule_day(&r->end, yy) * 86400 + r->end.time - r->dst_off;
        ev[1] = rule_day(&r->start, yy) * 86400 + r->start.time - r->std_off;
        for (int k = 0; k < 2; k++) {
            if (ev[k] <= t && (ev[k] > last || (ev[k] == last && k == 1))) {
                last = ev[k];
                dst = k == 1;
            }
            if (ev[k] > t && ev[k] < next)
                next = ev[k];
        }
    }
    *off = dst ? r->dst_off : r->std_off;
    *until = next;
}

/* ---- TZif ---------------------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tz_counts {
    size_t isut, isstd, leap, time, type, chars;
};

static int read_header(const unsigned char *p, size_t len, char *version, struct tz_counts *c)
{
    if (len < TZ_HEADER || memcmp(p, "TZif", 4) != 0)
        return -1;
    *version = (char)p[4];
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    if (c->type == 0 || c->type > 256 || (c->isut != 0 && c->isut != c->type) ||
        (c->isstd != 0 && c->isstd != c->type))
        return -1;
    return 0;
}

/* The size of a data block with time values of tsize bytes (counts are < 2^32: no overflow). */
static size_t block_size(const struct tz_counts *c, size_t tsize)
{
    return c->time * (tsize + 1) + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd +
           c->isut;
}

void prewarm_tz_free(struct prewarm_tz *z)
{
    if (!z)
        return;
    core_free(z->trans);
    core_free(z->idx);
    core_free(z->offs);
    core_free(z);
}

int prewarm_tz_parse(const unsigned char *data, size_t len, struct prewarm_tz **out,
                     struct core_err *err)
{
    struct prewarm_tz *z = NULL;
    struct tz_counts c;
    char version = 0;
    const unsigned char *p = data;
    size_t tsize = 4, rest = len, bsz;
    int rc = 0;

    if (!data || !out)
        return core_err_set(err, CORE_E_INVAL, "time zone data: NULL argument");
    if (read_header(p, rest, &version, &c) != 0)
        return core_err_set(err, CORE_E_PARSE, "time zone data: not a TZif file");
    if (version != 0 && (version < '2' || version > '9'))
        return core_err_set(err, CORE_E_PARSE, "time zone data: unknown TZif version");
    bsz = block_size(&c, 4);
    if (bsz > rest - TZ_HEADER)
        return core_err_set(err, CORE_E_PARSE, "time zone data: truncated v1 data block");
    if (version != 0) {
        /* The 64-bit block after the v1 one is the authoritative data. */
        p += TZ_HEADER + bsz;
        rest -= TZ_HEADER + bsz;
        if (read_header(p, rest, &version, &c) != 0)
            return core_err_set(err, CORE_E_PARSE, "time zone data: bad second TZif header");
        tsize = 8;
        bsz = block_size(&c, 8);
        if (bsz > rest - TZ_HEADER)
            return core_err_set(err, CORE_E_PARSE, "time zone data: truncated v2 data block");
    }
    p += TZ_HEADER;
    rest -= TZ_HEADER;

    if (!(z = core_calloc(1, sizeof *z)) ||
        (c.time && (!(z->trans = core_calloc(c.time, sizeof *z->trans)) ||
                    !(z->idx = core_calloc(c.time, 1)))) ||
        !(z->offs = core_calloc(c.type, sizeof *z->offs))) {
        rc = core_err_set(err, CORE_E_NOMEM, "time zone data: out of memory");
        goto out;
    }
    z->ntrans = c.time;
    z->ntypes = c.type;
    for (size_t i = 0; i < c.time; i++) {
        z->trans[i] = tsize == 8 ? be64(p + i * 8) : (int64_t)(int32_t)be32(p + i * 4);
        if (i > 0 && z->trans[i] <= z->trans[i - 1]) {
            rc = core_err_set(err, CORE_E_PARSE, "time zone data: transitions out of order");
            goto out;
        }
    }
    p += c.time * tsize;
    for (size_t i = 0; i < c.time; i++) {
        z->idx[i] = p[i];
        if (p[i] >= c.type) {
            rc = core_err_set(err, CORE_E_PARSE, "time zone data: bad local time type index");
            goto out;
        }
    }
    p += c.time;
    for (size_t i = 0; i < c.type; i++) {
        int32_t off = (int32_t)be32(p + i * 6);
        /* RFC 8536: -2^31 is invalid; real offsets stay within a day. */
        if (off <= -86400 || off >= 86400 || p[i * 6 + 4] > 1) {
            rc = core_err_set(err, CORE_E_PARSE, "time zone data: bad local time type");
            goto out;
        }
        z->offs[i] = off;
    }
    p += c.type * 6;
    p += c.chars + c.leap * (tsize + 4) + c.isstd + c.isut;
    rest -= bsz;

    if (tsize == 8) {
        /* The footer: "\n" POSIX-TZ "\n". */
        char footer[128];
        const unsigned char *nl;
        size_t flen;
        if (rest < 2 || p[0] != '\n' || !(nl = memchr(p + 1, '\n', rest - 1))) {
            rc = core_err_set(err, CORE_E_PARSE, "time zone data: missing TZ string footer");
            goto out;
        }
        flen = (size_t)(nl - (p + 1));
        if (flen >= sizeof footer || memchr(p + 1, '\0', flen)) {
            rc = core_err_set(err, CORE_E_PARSE, "time zone data: bad TZ string footer");
            goto out;
        }
        memcpy(footer, p + 1, flen);
        footer[flen] = '\0';
        if (parse_footer(footer, &z->rule, &z->has_rule) != 0) {
            rc = core_err_set(err, CORE_E_PARSE, "time zone data: bad TZ string footer \"%s\"",
                              footer);
            goto out;
        }
    }
    *out = z;
    z = NULL;
out:
    prewarm_tz_free(z);
    return rc;
}

static int fixed_utc(const char *zone)
{
    return !*zone || strcmp(zone, "UTC") == 0 || strcmp(zone, "Etc/UTC") == 0 ||
           strcmp(zone, "Z") == 0;
}

static int name_ok(const char *zone)
{
    size_t n = strlen(zone);
    if (n == 0 || n > TZ_NAME_MAX || zone[0] == '/' || zone[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = zone[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '+' || ch == '/'))
            return 0;
        if (ch == '/' && zone[i + 1] == '/')
            return 0;
    }
    return 1;
}

int prewarm_tz_load(const char *zone, struct prewarm_tz **out, struct core_err *err)
{
    char path[sizeof TZ_DIR + TZ_NAME_MAX + 1];
    char *buf = NULL;
    size_t len = 0;
    int rc;

    if (!zone || !out)
        return core_err_set(err, CORE_E_INVAL, "time zone: NULL argument");
    if (fixed_utc(zone)) {
        struct prewarm_tz *z = core_calloc(1, sizeof *z);
        if (!z || !(z->offs = core_calloc(1, sizeof *z->offs))) {
            prewarm_tz_free(z);
            return core_err_set(err, CORE_E_NOMEM, "time zone: out of memory");
        }
        z->ntypes = 1;
        *out = z;
        return 0;
    }
    if (!name_ok(zone))
        return core_err_set(err, CORE_E_INVAL,
                            "time zone %.64s: not a zone name (letters, digits, _ - + /)", zone);
    snprintf(path, sizeof path, "%s%s", TZ_DIR, zone);
    rc = core_read_file("time zone", path, PREWARM_TZ_FILE_MAX, &buf, &len, err);
    if (rc == CORE_E_NOTFOUND || rc == CORE_E_INVAL)
        return core_err_set(err, CORE_E_NOTFOUND, "time zone %s: not in the zone database",
                            zone);
    if (rc == CORE_E_TOOBIG)
        return core_err_set(err, CORE_E_PARSE, "time zone %s: file over 1 MiB", zone);
    if (rc != 0)
        return rc;
    rc = prewarm_tz_parse((const unsigned char *)buf, len, out, err);
    if (rc != 0)
        core_err_prefix(err, "time zone %s", zone);
    core_free(buf);
    return rc;
}

void prewarm_tz_lookup(const struct prewarm_tz *z, int64_t t, int32_t *off, int64_t *until)
{
    size_t lo = 0, hi;
    if (z->ntrans == 0) {
        if (z->has_rule) {
            rule_lookup(&z->rule, t, off, until);
            return;
        }
        *off = z->offs[0];
        *until = INT64_MAX;
        return;
    }
    if (t < z->trans[0]) {
        *off = z->offs[0];
        *until = z->trans[0];
        return;
    }
    /* The last transition at or before t. */
    hi = z->ntrans;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (lo + 1 < z->ntrans) {
        *off = z->offs[z->idx[lo]];
        *until = z->trans[lo + 1];
        return;
    }
    if (z->has_rule) {
        rule_lookup(&z->rule, t, off, until);
        return;
    }
    *off = z->offs[z->idx[lo]];
    *until = INT64_MAX;
}

int prewarm_tzif_offset(const unsigned char *data, size_t len, core_ns t, int32_t *off,
                        struct core_err *err)
{
    struct prewarm_tz *z = NULL;
    int64_t until;
    int32_t o;
    int rc;
    if (!off)
        return core_err_set(err, CORE_E_INVAL, "time zone data: NULL argument");
    if ((rc = prewarm_tz_parse(data, len, &z, err)) != 0)
        return rc;
    prewarm_tz_lookup(z, floor_div(t, CORE_NS_PER_S), &o, &until);
    prewarm_tz_free(z);
    *off = o;
    return 0;
}

int prewarm_tz_offset(const char *zone, core_ns t, int32_t *offset_s, struct core_err *err)
{
    struct prewarm_tz *z = NULL;
    int64_t until;
    int32_t o;
    int rc;
    if (!offset_s)
        return core_err_set(err, CORE_E_INVAL, "time zone: NULL argument");
    if ((rc = prewarm_tz_load(zone, &z, err)) != 0)
        return rc;
    prewarm_tz_lookup(z, floor_div(t, CORE_NS_PER_S), &o, &until);
    prewarm_tz_free(z);
    *offset_s = o;
    return 0;
}

void prewarm_fmt_duration(core_ns d, char *out, size_t outsz)
{
    int64_t s = d / CORE_NS_PER_S, days, h, m;
    size_t n = 0;
    if (outsz == 0)
        return;
    out[0] = '\0';
    if (s <= 0) {
        snprintf(out, outsz, "0s");
        return;
    }
    days = s / 86400;
    h = s / 3600 % 24;
    m = s / 60 % 60;
    s %= 60;
    if (days && n < outsz)
        n += (size_t)snprintf(out + n, outsz - n, "%" PRId64 "d", days);
    if (h && n < outsz)
        n += (size_t)snprintf(out + n, outsz - n, "%" PRId64 "h", h);
    if (m && n < outsz)
        n += (size_t)snprintf(out + n, outsz - n, "%" PRId64 "m", m);
    if (s && n < outsz)
        snprintf(out + n, outsz - n, "%" PRId64 "s", s);
}
