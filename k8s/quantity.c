/*
 * k8s/quantity.c — Kubernetes resource quantities and Go durations, in exact integer arithmetic.
 *
 * Quantity grammar (the documented one of resource.Quantity, which is also the OpenAPI pattern
 * the API server enforces for CRDs):
 *   <quantity> ::= <sign>? <number> <suffix>
 *   <number>   ::= <digits> | <digits> "." <digits> | <digits> "." | "." <digits>
 *   <suffix>   ::= "" | Ki Mi Gi Ti Pi Ei | n u m k M G T P E | (e|E) <sign>? <digits>
 * Go's scanner is looser than its own grammar ("Gi" and "." parse as 0 there); we follow the
 * grammar, so a quantity without a digit is CORE_E_PARSE. The exponent is an integer, as in
 * Go's scanner. "1E" is one exa; "1E3" is one thousand.
 *
 * Rounding: Kubernetes' MilliValue/Value round a value that is not a whole number of the unit
 * away from zero (negativeScaleInt64 in apimachinery): 1.0001m -> 2m, -1.5 -> -2. We do the same
 * on the magnitude, then apply the sign, so value == sign * ceil(|milli| / 1000) always holds.
 *
 * Exactness: the digits are never converted to a float. The value is D * 2^b * 10^k for the
 * significant digits D; a positive k multiplies with overflow checks, a negative k splits D into
 * the whole part and the fraction, and the fraction times 2^b is reduced digit by digit from the
 * right, keeping only the whole part and whether anything was left over, so any length of input
 * is exact in 64-bit integers. A magnitude above INT64_MAX (or 2^63 for a negative value) is
 * CORE_E_TOOBIG.
 *
 * Durations follow Go's time.ParseDuration (units ns us µs μs ms s m h, fractions, a sign, "0"),
 * with the fraction truncated toward zero like Go, but computed exactly.
 */
#include "k8s/k8s.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The digits of a number as two spans (before and after the point), seen as one string. */
struct digits {
    const char *a, *b;
    size_t na, nb;
};

static int digit_at(const struct digits *d, size_t i)
{
    return i < d->na ? d->a[i] - '0' : d->b[i - d->na] - '0';
}

/* magnitude * 2^shift, checked against limit. */
static int shl_checked(uint64_t v, unsigned shift, uint64_t limit, uint64_t *out)
{
    if (shift && v > (limit >> shift))
        return CORE_E_TOOBIG;
    v <<= shift;
    if (v > limit)
        return CORE_E_TOOBIG;
    *out = v;
    return 0;
}

/* ceil(D * 2^bexp * 10^k) for the significant digits [lo, hi) of d, bounded by limit. */
static int scale_exact(const struct digits *d, size_t lo, size_t hi, unsigned bexp, int64_t k,
                       uint64_t limit, uint64_t *out)
{
    size_t m = hi - lo;
    uint64_t whole = 0, x = 0;
    int rest = 0;
    size_t nwhole = m;

    if (k < 0)
        nwhole = (uint64_t)-k >= m ? 0 : m - (size_t)-k;
    if (nwhole > 19)
        return CORE_E_TOOBIG;
    for (size_t i = 0; i < nwhole; i++)
        whole = whole * 10 + (uint64_t)digit_at(d, lo + i);
    if (whole > limit)
        return CORE_E_TOOBIG;
    for (int64_t i = 0; i < k; i++) {
        if (whole > limit / 10)
            return CORE_E_TOOBIG;
        whole *= 10;
    }
    if (shl_checked(whole, bexp, limit, &whole) != 0)
        return CORE_E_TOOBIG;
    if (k < 0) {
        /* x = floor(fraction * 2^bexp), from the last digit leftwards; x < 2^bexp <= 2^60, so
         * d * 2^bexp + x < 10 * 2^60 never overflows. */
        uint64_t f = (uint64_t)-k;
        for (size_t i = hi; i > lo + nwhole; i--) {
            uint64_t n = ((uint64_t)digit_at(d, i - 1) << bexp) + x;
            rest |= n % 10 != 0;
            x = n / 10;
        }
        /* Implicit leading zeros of the fraction (k beyond the digits): x only shrinks. */
        for (uint64_t z = m; z < f && x != 0; z++) {
            rest |= x % 10 != 0;
            x /= 10;
        }
        if (x > limit - whole)
            return CORE_E_TOOBIG;
        whole += x;
        if (rest) {
            if (whole == limit)
                return CORE_E_TOOBIG;
            whole++;
        }
    }
    *out = whole;
    return 0;
}

/* Parses s; the result is in units of 10^-milli3 (3 for milli, 0 for whole units). */
static int quantity_parse(const char *s, int milli3, int64_t *value)
{
    static const struct {
        const char *name;
        int dec, bin;
    } suffixes[] = {
        {"", 0, 0},   {"n", -9, 0}, {"u", -6, 0}, {"m", -3, 0},  {"k", 3, 0},
        {"M", 6, 0},  {"G", 9, 0},  {"T", 12, 0}, {"P", 15, 0},  {"E", 18, 0},
        {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
    };
    struct digits d = {NULL, NULL, 0, 0};
    int neg = 0, found = 0;
    int64_t e10 = 0;
    unsigned bexp = 0;
    const char *p = s;
    size_t n, lo, hi;
    uint64_t mag, limit;

    if (!s)
        return CORE_E_PARSE;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    d.a = p;
    while (is_digit(*p))
        p++;
    d.na = (size_t)(p - d.a);
    if (*p == '.') {
        d.b = ++p;
        while (is_digit(*p))
            p++;
        d.nb = (size_t)(p - d.b);
    }
    if (d.na + d.nb == 0)
        return CORE_E_PARSE;
    if ((*p == 'e' || *p == 'E') && (is_digit(p[1]) || p[1] == '+' || p[1] == '-')) {
        int eneg = 0;
        p++;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        if (!is_digit(*p))
            return CORE_E_PARSE;
        /* Saturate: past 10^12 every nonzero value overflows or rounds to one unit anyway. */
        for (; is_digit(*p); p++)
            if (e10 < INT64_C(1000000000000))
                e10 = e10 * 10 + (*p - '0');
        if (*p)
            return CORE_E_PARSE;
        if (eneg)
            e10 = -e10;
        found = 1;
    } else {
        for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
            if (strcmp(p, suffixes[i].name) == 0) {
                e10 = suffixes[i].dec;
                bexp = (unsigned)suffixes[i].bin;
                found = 1;
                break;
            }
    }
    if (!found)
        return CORE_E_PARSE;

    n = d.na + d.nb;
    for (lo = 0; lo < n && digit_at(&d, lo) == 0; lo++)
        ;
    for (hi = n; hi > lo && digit_at(&d, hi - 1) == 0; hi--)
        ;
    if (lo == hi) {
        *value = 0;
        return 0;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (scale_exact(&d, lo, hi, bexp, (int64_t)d.na - (int64_t)hi + e10 + milli3, limit, &mag) != 0)
        return CORE_E_TOOBIG;
    if (!neg)
        *value = (int64_t)mag;
    else
        *value = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
    return 0;
}

int k8s_quantity_parse_milli(const char *s, int64_t *milli)
{
    return quantity_parse(s, 3, milli);
}

int k8s_quantity_parse(const char *s, int64_t *value)
{
    return quantity_parse(s, 0, value);
}

void k8s_quantity_format_milli(int64_t milli, char *out, size_t outsz)
{
    static const char *const suffix[] = {"m", "", "k", "M", "G", "T", "P", "E"};
    uint64_t mag = milli < 0 ? (uint64_t)0 - (uint64_t)milli : (uint64_t)milli;
    size_t i = 0;

    if (!out || outsz == 0)
        return;
    if (mag == 0) {
        snprintf(out, outsz, "0");
        return;
    }
    while (i + 1 < sizeof suffix / sizeof suffix[0] && mag % 1000 == 0) {
        mag /= 1000;
        i++;
    }
    snprintf(out, outsz, "%s%" PRIu64 "%s", milli < 0 ? "-" : "", mag, suffix[i]);
}

/* ------------------------------------------------------------------------------------------ */
/* Go durations                                                                                */
/* ------------------------------------------------------------------------------------------ */

int k8s_duration_parse(const char *s, unsigned flags, core_ns *out)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
        {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
        {"ms", 1000000},
        {"s", UINT64_C(1000000000)},
        {"m", UINT64_C(60000000000)},
        {"h", UINT64_C(3600000000000)},
    };
    const char *p = s;
    uint64_t total = 0, limit;
    int neg = 0;

    if (!s)
        return CORE_E_PARSE;
    if ((flags & K8S_DUR_ALLOW_NEVER) && strcmp(s, "Never") == 0) {
        *out = K8S_NEVER;
        return 0;
    }
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (strcmp(p, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (!*p)
        return CORE_E_PARSE;
    while (*p) {
        const char *ip = p, *fp = NULL, *u;
        size_t ni, nf = 0, nu;
        uint64_t whole = 0, unit = 0, frac = 0, v;
        int over = 0;

        while (is_digit(*p)) {
            if (whole > (UINT64_MAX - 9) / 10)
                over = 1;
            else
                whole = whole * 10 + (uint64_t)(*p - '0');
            p++;
        }
        ni = (size_t)(p - ip);
        if (*p == '.') {
            fp = ++p;
            while (is_digit(*p))
                p++;
            nf = (size_t)(p - fp);
        }
        if (ni + nf == 0)
            return CORE_E_PARSE;
        for (u = p; *p && *p != '.' && !is_digit(*p); p++)
            ;
        nu = (size_t)(p - u);
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strlen(units[i].name) == nu && memcmp(units[i].name, u, nu) == 0)
                unit = units[i].ns;
        if (unit == 0)
            return CORE_E_PARSE;
        if (over || whole > limit / unit)
            return CORE_E_TOOBIG;
        v = whole * unit;
        /* floor(0.f1f2...fn * unit), exactly: reduce from the last digit (d*unit + x < 10*unit). */
        for (size_t i = nf; i > 0; i--)
            frac = ((uint64_t)(fp[i - 1] - '0') * unit + frac) / 10;
        if (frac > limit - v || v + frac > limit - total)
            return CORE_E_TOOBIG;
        total += v + frac;
    }
    if (!neg)
        *out = (core_ns)total;
    else
        *out = total == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(core_ns)total;
    return 0;
}
