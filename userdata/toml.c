/*
 * userdata/toml.c — a small, strict, bounded TOML 1.0 parser and emitter for Bottlerocket user
 * data. Debian packages no C TOML library, so stoker carries its own; it does only what TOML
 * 1.0 says and nothing more (no 1.1 extensions such as \e, \x or newlines in inline tables).
 *
 * Invariants:
 *  - The input must be valid UTF-8, at most USERDATA_TOML_MAX_INPUT bytes; the tree is at most
 *    USERDATA_TOML_MAX_DEPTH deep and holds at most USERDATA_TOML_MAX_VALUES nodes. Breaking a
 *    limit is CORE_E_TOOBIG; anything else that is not TOML is CORE_E_PARSE with
 *    "spec.userData: TOML line L column C: what" (column counted in bytes, from 1).
 *  - The redefinition rules follow the specification (and agree with Python's tomllib): no key
 *    twice, no table header twice, a table made by dotted keys cannot get a header later nor
 *    be extended by dotted keys from another section, inline tables and value arrays are
 *    closed once written, [[x]] appends only to arrays of tables.
 *  - Date/time values are checked and kept as their text; floats and integers are converted.
 *  - The emitter is deterministic: per table, plain keys first (in insertion order), then
 *    sub-tables as [a.b] headers and arrays of tables as [[a.b]], keys quoted only when not
 *    bare, strings as basic strings with escapes, arrays and tables inside arrays inline.
 *    What it writes parses back to an equal tree.
 *  - Every node is owned by exactly one parent; userdata_toml_free releases the whole tree.
 */
#include "userdata/internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Node flags: how a table came to be, which decides what may still be added to it. */
#define F_EXPLICIT 1u /* defined by a [header] (or [[header]] for the array) */
#define F_DOTTED 2u   /* created or passed through by dotted keys in section `section` */
#define F_FROZEN 4u   /* inline table or value array: closed */
#define F_AOT 8u      /* array of tables made by [[header]] */

struct toml_entry {
    char *key;
    size_t keylen;
    struct userdata_toml_value *val;
};

struct userdata_toml_value {
    enum userdata_toml_type type;
    unsigned flags;
    unsigned section;
    int depth;
    char *s; /* STRING and the date/time types */
    size_t slen;
    int64_t i;
    double f;
    int b;
    struct userdata_toml_value **items; /* ARRAY */
    size_t nitems, citems;
    struct toml_entry *ents; /* TABLE, insertion order */
    size_t nents, cents;
    uint32_t *hash; /* open addressing over ents: slot holds index + 1; 0 = empty */
    size_t hcap;
};

struct userdata_toml {
    struct userdata_toml_value *root;
};

#define MAX_KEY_PARTS USERDATA_TOML_MAX_DEPTH
#define HASH_MIN_ENTS 8

struct toml_key {
    struct {
        char *s;
        size_t n;
    } part[MAX_KEY_PARTS];
    size_t n;
};

struct parser {
    const char *start, *p, *end;
    struct core_err *err;
    size_t nvalues;
    unsigned section;
    struct userdata_toml_value *root, *cur;
};

/* ---- nodes -------------------------------------------------------------------------------- */

static void node_free(struct userdata_toml_value *v)
{
    size_t i;
    if (!v)
        return;
    for (i = 0; i < v->nitems; i++)
        node_free(v->items[i]);
    for (i = 0; i < v->nents; i++) {
        core_free(v->ents[i].key);
        node_free(v->ents[i].val);
    }
    core_free(v->items);
    core_free(v->ents);
    core_free(v->hash);
    core_free(v->s);
    core_free(v);
}

static struct userdata_toml_value *node_new(enum userdata_toml_type type, int depth)
{
    struct userdata_toml_value *v = core_calloc(1, sizeof *v);
    if (v) {
        v->type = type;
        v->depth = depth;
    }
    return v;
}

static uint32_t key_hash(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 16777619u;
    }
    return h;
}

static int hash_rebuild(struct userdata_toml_value *t, size_t want)
{
    size_t cap = 16, i;
    uint32_t *h;
    while (cap < want * 2)
        cap *= 2;
    h = core_calloc(cap, sizeof *h);
    if (!h)
        return CORE_E_NOMEM;
    for (i = 0; i < t->nents; i++) {
        size_t slot = key_hash(t->ents[i].key, t->ents[i].keylen) & (cap - 1);
        while (h[slot])
            slot = (slot + 1) & (cap - 1);
        h[slot] = (uint32_t)(i + 1);
    }
    core_free(t->hash);
    t->hash = h;
    t->hcap = cap;
    return 0;
}

/* Index of key in t, or -1. */
static long table_find(const struct userdata_toml_value *t, const char *k, size_t n)
{
    size_t i;
    if (t->hash) {
        size_t slot = key_hash(k, n) & (t->hcap - 1);
        while (t->hash[slot]) {
            const struct toml_entry *e = &t->ents[t->hash[slot] - 1];
            if (e->keylen == n && memcmp(e->key, k, n) == 0)
                return (long)(t->hash[slot] - 1);
            slot = (slot + 1) & (t->hcap - 1);
        }
        return -1;
    }
    for (i = 0; i < t->nents; i++)
        if (t->ents[i].keylen == n && memcmp(t->ents[i].key, k, n) == 0)
            return (long)i;
    return -1;
}

static struct userdata_toml_value *table_lookup(const struct userdata_toml_value *t,
                                                const char *k, size_t n)
{
    long i = table_find(t, k, n);
    return i < 0 ? NULL : t->ents[i].val;
}

/* Adds key (copied) -> v (taken on success). The key must be absent. */
static int table_add(struct userdata_toml_value *t, const char *k, size_t n,
                     struct userdata_toml_value *v)
{
    char *kc;
    if (t->nents == t->cents) {
        size_t nc = t->cents ? t->cents * 2 : 4;
        struct toml_entry *ne = core_realloc(t->ents, nc * sizeof *ne);
        if (!ne)
            return CORE_E_NOMEM;
        t->ents = ne;
        t->cents = nc;
    }
    kc = core_malloc(n + 1);
    if (!kc)
        return CORE_E_NOMEM;
    memcpy(kc, k, n);
    kc[n] = '\0';
    if (t->nents + 1 >= HASH_MIN_ENTS && (t->nents + 1) * 2 > t->hcap) {
        int rc = hash_rebuild(t, t->nents + 1);
        if (rc) {
            core_free(kc);
            return rc;
        }
    }
    t->ents[t->nents].key = kc;
    t->ents[t->nents].keylen = n;
    t->ents[t->nents].val = v;
    t->nents++;
    if (t->hash) {
        size_t slot = key_hash(k, n) & (t->hcap - 1);
        while (t->hash[slot])
            slot = (slot + 1) & (t->hcap - 1);
        t->hash[slot] = (uint32_t)t->nents;
    }
    return 0;
}

static int array_add(struct userdata_toml_value *a, struct userdata_toml_value *v)
{
    if (a->nitems == a->citems) {
        size_t nc = a->citems ? a->citems * 2 : 4;
        struct userdata_toml_value **ni = core_realloc(a->items, nc * sizeof *ni);
        if (!ni)
            return CORE_E_NOMEM;
        a->items = ni;
        a->citems = nc;
    }
    a->items[a->nitems++] = v;
    return 0;
}

/* Closes an inline table and everything made inside it. */
static void freeze(struct userdata_toml_value *v)
{
    size_t i;
    v->flags |= F_FROZEN;
    for (i = 0; i < v->nents; i++)
        freeze(v->ents[i].val);
    for (i = 0; i < v->nitems; i++)
        freeze(v->items[i]);
}

/* ---- errors and lexing helpers ------------------------------------------------------------ */

static int perr_code(struct parser *ps, int code, const char *at, const char *fmt, ...)
    CORE_PRINTF(4, 5);
static int perr_code(struct parser *ps, int code, const char *at, const char *fmt, ...)
{
    char what[256];
    size_t line = 1, col = 1;
    const char *q;
    va_list ap;
    if (at > ps->end)
        at = ps->end;
    for (q = ps->start; q < at; q++) {
        if (*q == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return core_err_set(ps->err, code, "spec.userData: TOML line %zu column %zu: %s", line, col,
                        what);
}
#define perr(ps, at, ...) perr_code((ps), CORE_E_PARSE, (at), __VA_ARGS__)

static int nomem(struct parser *ps)
{
    return core_err_set(ps->err, CORE_E_NOMEM, "spec.userData: out of memory parsing TOML");
}

static int count_value(struct parser *ps, const char *at)
{
    if (++ps->nvalues > USERDATA_TOML_MAX_VALUES)
        return perr_code(ps, CORE_E_TOOBIG, at, "more than %u values", USERDATA_TOML_MAX_VALUES);
    return 0;
}

static int check_depth(struct parser *ps, const char *at, int depth)
{
    if (depth > USERDATA_TOML_MAX_DEPTH)
        return perr_code(ps, CORE_E_TOOBIG, at, "nested deeper than %d",
                         USERDATA_TOML_MAX_DEPTH);
    return 0;
}

static int is_bare(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_ctrl(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

/* At a newline (LF or CRLF)? Returns its length, 0 if none. */
static size_t at_newline(const struct parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\n')
        return 1;
    if (ps->end - ps->p >= 2 && ps->p[0] == '\r' && ps->p[1] == '\n')
        return 2;
    return 0;
}

static int skip_comment(struct parser *ps)
{
    if (ps->p >= ps->end || *ps->p != '#')
        return 0;
    ps->p++;
    while (ps->p < ps->end && *ps->p != '\n') {
        if (*ps->p == '\r' && at_newline(ps))
            break;
        if (is_ctrl((unsigned char)*ps->p))
            return perr(ps, ps->p, "control character in a comment");
        ps->p++;
    }
    return 0;
}

/* Whitespace, newlines and comments (inside arrays). */
static int skip_ws_nl(struct parser *ps)
{
    for (;;) {
        size_t nl;
        int rc;
        skip_ws(ps);
        if ((rc = skip_comment(ps)) != 0)
            return rc;
        nl = at_newline(ps);
        if (!nl)
            return 0;
        ps->p += nl;
    }
}

static int validate_utf8(struct parser *ps)
{
    const unsigned char *s = (const unsigned char *)ps->start;
    size_t n = (size_t)(ps->end - ps->start), i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len, k;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
            min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
            min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return perr(ps, ps->start + i, "invalid UTF-8");
        }
        if (n - i < len)
            return perr(ps, ps->start + i, "invalid UTF-8");
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return perr(ps, ps->start + i, "invalid UTF-8");
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return perr(ps, ps->start + i, "invalid UTF-8");
        i += len;
    }
    return 0;
}

static int put_utf8(struct core_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return core_buf_append(b, u, n);
}

/* ---- strings ------------------------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* At a backslash (not a line-ending one): appends the escaped character. */
static int parse_escape(struct parser *ps, struct core_buf *b)
{
    const char *at = ps->p;
    char c;
    int rc = 0;
    if (ps->end - ps->p < 2)
        return perr(ps, at, "unterminated string");
    c = ps->p[1];
    ps->p += 2;
    switch (c) {
    case 'b': rc = core_buf_append_char(b, '\b'); break;
    case 't': rc = core_buf_append_char(b, '\t'); break;
    case 'n': rc = core_buf_append_char(b, '\n'); break;
    case 'f': rc = core_buf_append_char(b, '\f'); break;
    case 'r': rc = core_buf_append_char(b, '\r'); break;
    case '"': rc = core_buf_append_char(b, '"'); break;
    case '\\': rc = core_buf_append_char(b, '\\'); break;
    case 'u':
    case 'U': {
        int digits = c == 'u' ? 4 : 8, k;
        uint32_t cp = 0;
        if (ps->end - ps->p < digits)
            return perr(ps, at, "\\%c needs %d hex digits", c, digits);
        for (k = 0; k < digits; k++) {
            int h = hexval(ps->p[k]);
            if (h < 0)
                return perr(ps, at, "\\%c needs %d hex digits", c, digits);
            cp = (cp << 4) | (uint32_t)h;
        }
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return perr(ps, at, "\\%c escape is not a Unicode scalar value", c);
        ps->p += digits;
        rc = put_utf8(b, cp);
        break;
    }
    default:
        return perr(ps, at, "invalid escape sequence");
    }
    return rc ? nomem(ps) : 0;
}

/* A basic or literal string, single- or multi-line; ps->p at the opening quote. The content
 * goes into b. multiline_ok is 0 for keys. */
static int parse_string(struct parser *ps, struct core_buf *b, int multiline_ok)
{
    const char *open = ps->p;
    char q = *ps->p;
    int literal = q == '\'';
    int multi = ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q;
    int rc;

    if (multi) {
        if (!multiline_ok)
            return perr(ps, open, "a multi-line string cannot be a key");
        ps->p += 3;
        /* A newline right after the opening delimiter is trimmed. */
        ps->p += at_newline(ps);
    } else {
        ps->p++;
    }
    for (;;) {
        unsigned char c;
        if (ps->p >= ps->end)
            return perr(ps, open, "unterminated string");
        c = (unsigned char)*ps->p;
        if (c == (unsigned char)q) {
            size_t run = 0;
            if (!multi) {
                ps->p++;
                return 0;
            }
            while (ps->p + run < ps->end && ps->p[run] == q)
                run++;
            if (run >= 3) {
                if (run > 5)
                    return perr(ps, ps->p + 5, "too many quotes at the end of a string");
                if (core_buf_append(b, ps->p, run - 3))
                    return nomem(ps);
                ps->p += run;
                return 0;
            }
            if (core_buf_append(b, ps->p, run))
                return nomem(ps);
            ps->p += run;
            continue;
        }
        if (c == '\\' && !literal) {
            if (multi) {
                /* A line-ending backslash eats the newline and the whitespace after it. */
                const char *r = ps->p + 1;
                while (r < ps->end && (*r == ' ' || *r == '\t'))
                    r++;
                if (r < ps->end && (*r == '\n' || (*r == '\r' && r + 1 < ps->end && r[1] == '\n'))) {
                    ps->p = r;
                    for (;;) {
                        size_t nl = at_newline(ps);
                        if (nl)
                            ps->p += nl;
                        else if (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
                            ps->p++;
                        else
                            break;
                    }
                    continue;
                }
            }
            if ((rc = parse_escape(ps, b)) != 0)
                return rc;
            continue;
        }
        if (multi) {
            size_t nl = at_newline(ps);
            if (nl) {
                /* CRLF becomes LF, as tomllib does. */
                if (core_buf_append_char(b, '\n'))
                    return nomem(ps);
                ps->p += nl;
                continue;
            }
        }
        if (c == '\n' || c == '\r') {
            if (!multi)
                return perr(ps, open, "unterminated string");
            return perr(ps, ps->p, "bare carriage return in a string");
        }
        if (is_ctrl(c))
            return perr(ps, ps->p, "control character in a string");
        if (core_buf_append_char(b, (char)c))
            return nomem(ps);
        ps->p++;
    }
}

/* ---- keys --------------------------------------------------------------------------------- */

static void key_cleanup(struct toml_key *k)
{
    size_t i;
    for (i = 0; i < k->n; i++)
        core_free(k->part[i].s);
    k->n = 0;
}

static int parse_key(struct parser *ps, struct toml_key *k)
{
    k->n = 0;
    for (;;) {
        struct core_buf b;
        int rc;
        skip_ws(ps);
        if (k->n == MAX_KEY_PARTS) {
            rc = perr_code(ps, CORE_E_TOOBIG, ps->p, "key has more than %d parts",
                           MAX_KEY_PARTS);
            key_cleanup(k);
            return rc;
        }
        core_buf_init(&b, USERDATA_TOML_MAX_INPUT);
        if (ps->p < ps->end && (*ps->p == '"' || *ps->p == '\'')) {
            rc = parse_string(ps, &b, 0);
        } else if (ps->p < ps->end && is_bare((unsigned char)*ps->p)) {
            const char *s = ps->p;
            while (ps->p < ps->end && is_bare((unsigned char)*ps->p))
                ps->p++;
            rc = core_buf_append(&b, s, (size_t)(ps->p - s)) ? nomem(ps) : 0;
        } else {
            rc = perr(ps, ps->p, "expected a key");
        }
        if (rc == 0 && core_buf_reserve(&b, 1))
            rc = nomem(ps);
        if (rc) {
            core_buf_cleanup(&b);
            key_cleanup(k);
            return rc;
        }
        k->part[k->n].n = b.len;
        k->part[k->n].s = b.data; /* reserved above: never NULL */
        k->n++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '.') {
            ps->p++;
            continue;
        }
        return 0;
    }
}

/* ---- scalars ------------------------------------------------------------------------------ */

static int digits_ok(const char *s, size_t n, int base)
{
    size_t i;
    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (s[i] == '_') {
            if (i == 0 || i + 1 == n || s[i + 1] == '_')
                return 0;
            continue;
        }
        if (h < 0 || h >= base)
            return 0;
    }
    return 1;
}

static int leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static long num(const char *s, size_t n)
{
    long v = 0;
    size_t i;
    for (i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}
static int all_digits(const char *s, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return 0;
    return 1;
}

/* HH:MM:SS[.frac] at s; returns its length or 0. */
static size_t scan_time(const char *s, const char *end)
{
    size_t n = 8;
    if (end - s < 8 || !all_digits(s, 2) || s[2] != ':' || !all_digits(s + 3, 2) || s[5] != ':' ||
        !all_digits(s + 6, 2))
        return 0;
    if (num(s, 2) > 23 || num(s + 3, 2) > 59 || num(s + 6, 2) > 59)
        return 0;
    if (end - s > 8 && s[8] == '.') {
        n = 9;
        while (s + n < end && is_digit((unsigned char)s[n]))
            n++;
        if (n == 9)
            return 0;
    }
    return n;
}

/* A date, date-time or time; ps->p at its first digit. */
static int parse_datetime(struct parser *ps, int depth, struct userdata_toml_value **out)
{
    const char *s = ps->p, *e = ps->end, *q;
    enum userdata_toml_type type;
    struct userdata_toml_value *v;
    size_t tl;

    if (e - s >= 3 && s[2] == ':') {
        tl = scan_time(s, e);
        if (!tl)
            return perr(ps, s, "invalid time");
        q = s + tl;
        type = USERDATA_TOML_TIME_LOCAL;
    } else {
        long y, m, d;
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (e - s < 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
            s[7] != '-' || !all_digits(s + 8, 2))
            return perr(ps, s, "invalid date");
        y = num(s, 4);
        m = num(s + 5, 2);
        d = num(s + 8, 2);
        if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap(y)))
            return perr(ps, s, "invalid date");
        q = s + 10;
        type = USERDATA_TOML_DATE_LOCAL;
        if (q < e && (*q == 'T' || *q == 't' || (*q == ' ' && e - q > 3 && is_digit((unsigned char)q[1]) &&
                                                 is_digit((unsigned char)q[2]) && q[3] == ':'))) {
            tl = scan_time(q + 1, e);
            if (!tl)
                return perr(ps, q + 1, "invalid time");
            q += 1 + tl;
            type = USERDATA_TOML_DATETIME_LOCAL;
            if (q < e && (*q == 'Z' || *q == 'z')) {
                q++;
                type = USERDATA_TOML_DATETIME;
            } else if (q < e && (*q == '+' || *q == '-')) {
                if (e - q < 6 || !all_digits(q + 1, 2) || q[3] != ':' || !all_digits(q + 4, 2) ||
                    num(q + 1, 2) > 23 || num(q + 4, 2) > 59)
                    return perr(ps, q, "invalid time offset");
                q += 6;
                type = USERDATA_TOML_DATETIME;
            }
        }
    }
    if (q < e && (is_bare((unsigned char)*q) || *q == ':' || *q == '.' || *q == '+'))
        return perr(ps, q, "invalid date or time");
    v = node_new(type, depth);
    if (!v || !(v->s = core_strndup(s, (size_t)(q - s)))) {
        node_free(v);
        return nomem(ps);
    }
    v->slen = (size_t)(q - s);
    ps->p = q;
    *out = v;
    return 0;
}

/* An integer or float; ps->p at its first character. */
static int parse_number(struct parser *ps, int depth, struct userdata_toml_value **out)
{
    const char *s = ps->p, *t, *e;
    char clean[128];
    size_t n, cn = 0, i;
    int is_float = 0;
    struct userdata_toml_value *v;

    while (ps->p < ps->end && (is_bare((unsigned char)*ps->p) || *ps->p == '.' || *ps->p == '+'))
        ps->p++;
    n = (size_t)(ps->p - s);
    t = s;
    e = ps->p;
    if (n == 0)
        return perr(ps, s, "expected a value");
    if (n >= sizeof clean)
        return perr(ps, s, "invalid number");

    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b')) {
        int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
        uint64_t acc = 0;
        if (!digits_ok(s + 2, n - 2, base))
            return perr(ps, s, "invalid integer");
        for (i = 2; i < n; i++) {
            if (s[i] == '_')
                continue;
            if (acc > (UINT64_C(0x7fffffffffffffff) - (uint64_t)hexval(s[i])) / (uint64_t)base)
                return perr(ps, s, "integer out of range");
            acc = acc * (uint64_t)base + (uint64_t)hexval(s[i]);
        }
        v = node_new(USERDATA_TOML_INTEGER, depth);
        if (!v)
            return nomem(ps);
        v->i = (int64_t)acc;
        *out = v;
        return 0;
    }

    if (*t == '+' || *t == '-')
        t++;
    if ((size_t)(e - t) == 3 && (memcmp(t, "inf", 3) == 0 || memcmp(t, "nan", 3) == 0)) {
        v = node_new(USERDATA_TOML_FLOAT, depth);
        if (!v)
            return nomem(ps);
        v->f = t[0] == 'i' ? (s[0] == '-' ? -HUGE_VAL : HUGE_VAL) : (s[0] == '-' ? -NAN : NAN);
        *out = v;
        return 0;
    }
    {
        /* integer part: no leading zeros */
        const char *ip = t, *frac = NULL, *exp = NULL;
        size_t ipn, fn = 0, en = 0;
        while (t < e && (is_digit((unsigned char)*t) || *t == '_'))
            t++;
        ipn = (size_t)(t - ip);
        if (!digits_ok(ip, ipn, 10) || (ip[0] == '0' && ipn > 1))
            return perr(ps, s, "invalid number");
        if (t < e && *t == '.') {
            frac = ++t;
            while (t < e && (is_digit((unsigned char)*t) || *t == '_'))
                t++;
            fn = (size_t)(t - frac);
            if (!digits_ok(frac, fn, 10))
                return perr(ps, s, "invalid float");
            is_float = 1;
        }
        if (t < e && (*t == 'e' || *t == 'E')) {
            t++;
            if (t < e && (*t == '+' || *t == '-'))
                t++;
            exp = t;
            while (t < e && (is_digit((unsigned char)*t) || *t == '_'))
                t++;
            en = (size_t)(t - exp);
            if (!digits_ok(exp, en, 10))
                return perr(ps, s, "invalid float");
            is_float = 1;
        }
        if (t != e)
            return perr(ps, s, "invalid number");
    }
    for (i = 0; i < n; i++)
        if (s[i] != '_')
            clean[cn++] = s[i];
    clean[cn] = '\0';
    v = node_new(is_float ? USERDATA_TOML_FLOAT : USERDATA_TOML_INTEGER, depth);
    if (!v)
        return nomem(ps);
    if (is_float) {
        char *endp;
        v->f = strtod(clean, &endp);
    } else {
        const char *d = clean;
        int neg = 0;
        uint64_t acc = 0, lim;
        if (*d == '+' || *d == '-')
            neg = *d++ == '-';
        lim = neg ? UINT64_C(0x8000000000000000) : UINT64_C(0x7fffffffffffffff);
        for (; *d; d++) {
            uint64_t dv = (uint64_t)(*d - '0');
            if (acc > (lim - dv) / 10) {
                node_free(v);
                return perr(ps, s, "integer out of range");
            }
            acc = acc * 10 + dv;
        }
        v->i = neg ? (int64_t)(UINT64_C(0) - acc) : (int64_t)acc;
    }
    *out = v;
    return 0;
}

/* ---- values ------------------------------------------------------------------------------- */

static int parse_value(struct parser *ps, int depth, struct userdata_toml_value **out);

static int parse_array(struct parser *ps, int depth, struct userdata_toml_value **out)
{
    const char *open = ps->p;
    struct userdata_toml_value *a = node_new(USERDATA_TOML_ARRAY, depth), *item = NULL;
    int rc;
    if (!a)
        return nomem(ps);
    a->flags = F_FROZEN;
    ps->p++;
    for (;;) {
        if ((rc = skip_ws_nl(ps)) != 0)
            goto fail;
        if (ps->p >= ps->end) {
            rc = perr(ps, open, "unterminated array");
            goto fail;
        }
        if (*ps->p == ']')
            break;
        if ((rc = parse_value(ps, depth + 1, &item)) != 0)
            goto fail;
        if (array_add(a, item)) {
            node_free(item);
            rc = nomem(ps);
            goto fail;
        }
        if ((rc = skip_ws_nl(ps)) != 0)
            goto fail;
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == ']')
            break;
        rc = ps->p >= ps->end ? perr(ps, open, "unterminated array")
                              : perr(ps, ps->p, "expected ',' or ']' in an array");
        goto fail;
    }
    ps->p++;
    *out = a;
    return 0;
fail:
    node_free(a);
    return rc;
}

/* Walks the dotted key's leading parts from t inside an inline table, creating tables. */
static int inline_resolve(struct parser *ps, struct userdata_toml_value *t,
                          const struct toml_key *k, const char *at,
                          struct userdata_toml_value **parent)
{
    size_t i;
    int rc;
    for (i = 0; i + 1 < k->n; i++) {
        struct userdata_toml_value *c = table_lookup(t, k->part[i].s, k->part[i].n);
        if (!c) {
            if ((rc = count_value(ps, at)) != 0 || (rc = check_depth(ps, at, t->depth + 1)) != 0)
                return rc;
            c = node_new(USERDATA_TOML_TABLE, t->depth + 1);
            if (!c)
                return nomem(ps);
            if (table_add(t, k->part[i].s, k->part[i].n, c)) {
                node_free(c);
                return nomem(ps);
            }
        } else if (c->type != USERDATA_TOML_TABLE || (c->flags & F_FROZEN)) {
            return perr(ps, at, "key '%s' is already defined", k->part[i].s);
        }
        t = c;
    }
    *parent = t;
    return 0;
}

static int parse_inline_table(struct parser *ps, int depth, struct userdata_toml_value **out)
{
    const char *open = ps->p;
    struct userdata_toml_value *tbl = node_new(USERDATA_TOML_TABLE, depth), *parent = NULL, *v = NULL;
    struct toml_key k;
    int rc;

    k.n = 0;
    if (!tbl)
        return nomem(ps);
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        goto done;
    }
    for (;;) {
        const char *at = ps->p;
        if ((rc = parse_key(ps, &k)) != 0)
            goto fail;
        if ((rc = inline_resolve(ps, tbl, &k, at, &parent)) != 0)
            goto fail;
        if (table_lookup(parent, k.part[k.n - 1].s, k.part[k.n - 1].n)) {
            rc = perr(ps, at, "duplicate key '%s'", k.part[k.n - 1].s);
            goto fail;
        }
        if (ps->p >= ps->end || *ps->p != '=') {
            rc = perr(ps, ps->p, "expected '=' after a key");
            goto fail;
        }
        ps->p++;
        skip_ws(ps);
        if ((rc = parse_value(ps, parent->depth + 1, &v)) != 0)
            goto fail;
        if (table_add(parent, k.part[k.n - 1].s, k.part[k.n - 1].n, v)) {
            node_free(v);
            rc = nomem(ps);
            goto fail;
        }
        key_cleanup(&k);
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '}') {
            ps->p++;
            break;
        }
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            continue;
        }
        rc = ps->p >= ps->end || at_newline(ps) ? perr(ps, open, "unterminated inline table")
                                                : perr(ps, ps->p, "expected ',' or '}' in an inline table");
        goto fail;
    }
done:
    freeze(tbl);
    *out = tbl;
    return 0;
fail:
    key_cleanup(&k);
    node_free(tbl);
    return rc;
}

static int parse_value(struct parser *ps, int depth, struct userdata_toml_value **out)
{
    const char *s = ps->p;
    struct userdata_toml_value *v;
    int rc;
    char c;

    if ((rc = check_depth(ps, s, depth)) != 0 || (rc = count_value(ps, s)) != 0)
        return rc;
    if (ps->p >= ps->end || at_newline(ps))
        return perr(ps, s, "expected a value");
    c = *ps->p;
    if (c == '"' || c == '\'') {
        struct core_buf b;
        core_buf_init(&b, USERDATA_TOML_MAX_INPUT);
        rc = parse_string(ps, &b, 1);
        if (rc == 0 && core_buf_reserve(&b, 1))
            rc = nomem(ps);
        if (rc == 0 && !(v = node_new(USERDATA_TOML_STRING, depth)))
            rc = nomem(ps);
        if (rc) {
            core_buf_cleanup(&b);
            return rc;
        }
        v->slen = b.len;
        v->s = b.data;
        *out = v;
        return 0;
    }
    if (c == '[')
        return parse_array(ps, depth, out);
    if (c == '{')
        return parse_inline_table(ps, depth, out);
    if (c == 't' || c == 'f') {
        const char *word = c == 't' ? "true" : "false";
        size_t wl = strlen(word);
        if ((size_t)(ps->end - ps->p) < wl || memcmp(ps->p, word, wl) != 0 ||
            ((size_t)(ps->end - ps->p) > wl && is_bare((unsigned char)ps->p[wl])))
            return perr(ps, s, "expected a value");
        if (!(v = node_new(USERDATA_TOML_BOOL, depth)))
            return nomem(ps);
        v->b = c == 't';
        ps->p += wl;
        *out = v;
        return 0;
    }
    if (ps->end - ps->p >= 5 && all_digits(ps->p, 4) && ps->p[4] == '-')
        return parse_datetime(ps, depth, out);
    if (ps->end - ps->p >= 3 && all_digits(ps->p, 2) && ps->p[2] == ':')
        return parse_datetime(ps, depth, out);
    if (is_digit((unsigned char)c) || c == '+' || c == '-' || c == 'i' || c == 'n')
        return parse_number(ps, depth, out);
    return perr(ps, s, "expected a value");
}

/* ---- statements --------------------------------------------------------------------------- */

static int parse_header(struct parser *ps)
{
    const char *at = ps->p;
    int aot = ps->end - ps->p >= 2 && ps->p[1] == '[';
    struct userdata_toml_value *t = ps->root, *c, *nt = NULL;
    struct toml_key k;
    size_t i;
    int rc;

    ps->p += aot ? 2 : 1;
    if ((rc = parse_key(ps, &k)) != 0)
        return rc;
    if (ps->p >= ps->end || *ps->p != ']' ||
        (aot && (ps->end - ps->p < 2 || ps->p[1] != ']'))) {
        rc = perr(ps, ps->p, aot ? "expected ']]' after a table header"
                                 : "expected ']' after a table header");
        goto out;
    }
    ps->p += aot ? 2 : 1;
    ps->section++;
    for (i = 0; i + 1 < k.n; i++) {
        c = table_lookup(t, k.part[i].s, k.part[i].n);
        if (!c) {
            if ((rc = count_value(ps, at)) != 0 || (rc = check_depth(ps, at, t->depth + 1)) != 0)
                goto out;
            if (!(c = node_new(USERDATA_TOML_TABLE, t->depth + 1))) {
                rc = nomem(ps);
                goto out;
            }
            if (table_add(t, k.part[i].s, k.part[i].n, c)) {
                node_free(c);
                rc = nomem(ps);
                goto out;
            }
        } else if (c->type == USERDATA_TOML_ARRAY && (c->flags & F_AOT)) {
            c = c->items[c->nitems - 1];
        } else if (c->type != USERDATA_TOML_TABLE) {
            rc = perr(ps, at, "key '%s' is already defined as a value", k.part[i].s);
            goto out;
        } else if (c->flags & F_FROZEN) {
            rc = perr(ps, at, "cannot extend inline table '%s'", k.part[i].s);
            goto out;
        }
        t = c;
    }
    c = table_lookup(t, k.part[k.n - 1].s, k.part[k.n - 1].n);
    if (!c && ((rc = count_value(ps, at)) != 0 || (rc = check_depth(ps, at, t->depth + 1)) != 0))
        goto out;
    if (!aot) {
        if (c) {
            if (c->type != USERDATA_TOML_TABLE) {
                rc = perr(ps, at, "key '%s' is already defined as a value",
                          k.part[k.n - 1].s);
                goto out;
            }
            if (c->flags & (F_EXPLICIT | F_DOTTED | F_FROZEN)) {
                rc = perr(ps, at, "table '%s' is defined twice", k.part[k.n - 1].s);
                goto out;
            }
            c->flags |= F_EXPLICIT;
            ps->cur = c;
            goto out;
        }
        if (!(nt = node_new(USERDATA_TOML_TABLE, t->depth + 1))) {
            rc = nomem(ps);
            goto out;
        }
        nt->flags = F_EXPLICIT;
        if (table_add(t, k.part[k.n - 1].s, k.part[k.n - 1].n, nt)) {
            node_free(nt);
            rc = nomem(ps);
            goto out;
        }
        ps->cur = nt;
        goto out;
    }
    if (c && !(c->type == USERDATA_TOML_ARRAY && (c->flags & F_AOT))) {
        rc = perr(ps, at, "key '%s' is already defined and is not an array of tables",
                  k.part[k.n - 1].s);
        goto out;
    }
    if (!(nt = node_new(USERDATA_TOML_TABLE, t->depth + 2))) {
        rc = nomem(ps);
        goto out;
    }
    if ((rc = check_depth(ps, at, t->depth + 2)) != 0 || (rc = count_value(ps, at)) != 0) {
        node_free(nt);
        goto out;
    }
    if (!c) {
        if (!(c = node_new(USERDATA_TOML_ARRAY, t->depth + 1))) {
            node_free(nt);
            rc = nomem(ps);
            goto out;
        }
        c->flags = F_AOT | F_EXPLICIT;
        if (table_add(t, k.part[k.n - 1].s, k.part[k.n - 1].n, c)) {
            node_free(c);
            node_free(nt);
            rc = nomem(ps);
            goto out;
        }
    }
    if (array_add(c, nt)) {
        node_free(nt);
        rc = nomem(ps);
        goto out;
    }
    ps->cur = nt;
out:
    key_cleanup(&k);
    return rc;
}

static int parse_keyval(struct parser *ps)
{
    const char *at = ps->p;
    struct userdata_toml_value *t = ps->cur, *c, *v = NULL;
    struct toml_key k;
    size_t i;
    int rc;

    if ((rc = parse_key(ps, &k)) != 0)
        return rc;
    for (i = 0; i + 1 < k.n; i++) {
        c = table_lookup(t, k.part[i].s, k.part[i].n);
        if (!c) {
            if ((rc = count_value(ps, at)) != 0 || (rc = check_depth(ps, at, t->depth + 1)) != 0)
                goto out;
            if (!(c = node_new(USERDATA_TOML_TABLE, t->depth + 1))) {
                rc = nomem(ps);
                goto out;
            }
            if (table_add(t, k.part[i].s, k.part[i].n, c)) {
                node_free(c);
                rc = nomem(ps);
                goto out;
            }
        } else if (c->type != USERDATA_TOML_TABLE) {
            rc = perr(ps, at, "key '%s' is already defined as a value", k.part[i].s);
            goto out;
        } else if (c->flags & F_FROZEN) {
            rc = perr(ps, at, "cannot extend inline table '%s'", k.part[i].s);
            goto out;
        } else if ((c->flags & F_EXPLICIT) ||
                   ((c->flags & F_DOTTED) && c->section != ps->section)) {
            rc = perr(ps, at, "cannot add to table '%s' with dotted keys here", k.part[i].s);
            goto out;
        }
        c->flags |= F_DOTTED;
        c->section = ps->section;
        t = c;
    }
    if (table_lookup(t, k.part[k.n - 1].s, k.part[k.n - 1].n)) {
        rc = perr(ps, at, "duplicate key '%s'", k.part[k.n - 1].s);
        goto out;
    }
    if (ps->p >= ps->end || *ps->p != '=') {
        rc = perr(ps, ps->p, "expected '=' after a key");
        goto out;
    }
    ps->p++;
    skip_ws(ps);
    if ((rc = parse_value(ps, t->depth + 1, &v)) != 0)
        goto out;
    if (table_add(t, k.part[k.n - 1].s, k.part[k.n - 1].n, v)) {
        node_free(v);
        rc = nomem(ps);
    }
out:
    key_cleanup(&k);
    return rc;
}

static int parse_doc(struct parser *ps)
{
    int rc;
    if ((rc = validate_utf8(ps)) != 0)
        return rc;
    for (;;) {
        size_t nl;
        skip_ws(ps);
        if (ps->p >= ps->end)
            return 0;
        if ((nl = at_newline(ps)) != 0) {
            ps->p += nl;
            continue;
        }
        if (*ps->p == '#') {
            rc = skip_comment(ps);
        } else if (*ps->p == '[') {
            rc = parse_header(ps);
        } else {
            rc = parse_keyval(ps);
        }
        if (rc)
            return rc;
        skip_ws(ps);
        if ((rc = skip_comment(ps)) != 0)
            return rc;
        if (ps->p >= ps->end)
            return 0;
        if (!(nl = at_newline(ps)))
            return perr(ps, ps->p, "expected a newline after a statement");
        ps->p += nl;
    }
}

int userdata_toml_new(struct userdata_toml **out, struct core_err *err)
{
    struct userdata_toml *t = core_calloc(1, sizeof *t);
    if (!t || !(t->root = node_new(USERDATA_TOML_TABLE, 0))) {
        core_free(t);
        return core_err_set(err, CORE_E_NOMEM, "spec.userData: out of memory");
    }
    *out = t;
    return 0;
}

int userdata_toml_parse(const char *text, size_t len, struct userdata_toml **out,
                        struct core_err *err)
{
    struct parser ps;
    struct userdata_toml *t = NULL;
    int rc;

    if (len > USERDATA_TOML_MAX_INPUT)
        return core_err_set(err, CORE_E_TOOBIG, "spec.userData: TOML is %zu bytes; at most %u",
                            len, USERDATA_TOML_MAX_INPUT);
    if ((rc = userdata_toml_new(&t, err)) != 0)
        return rc;
    memset(&ps, 0, sizeof ps);
    ps.start = ps.p = text ? text : "";
    ps.end = ps.start + (text ? len : 0);
    ps.err = err;
    ps.root = ps.cur = t->root;
    ps.nvalues = 1;
    if ((rc = parse_doc(&ps)) != 0) {
        userdata_toml_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void userdata_toml_free(struct userdata_toml *t)
{
    if (!t)
        return;
    node_free(t->root);
    core_free(t);
}

/* ---- access ------------------------------------------------------------------------------- */

/* Parses path (a TOML key) on its own: 0, CORE_E_INVAL or CORE_E_NOMEM. */
static int path_parse(const char *path, struct toml_key *k)
{
    struct parser ps;
    struct core_err e;
    int rc;
    memset(&ps, 0, sizeof ps);
    ps.start = ps.p = path ? path : "";
    ps.end = ps.start + strlen(ps.start);
    ps.err = &e;
    if ((rc = parse_key(&ps, k)) != 0)
        return rc == CORE_E_NOMEM ? rc : CORE_E_INVAL;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        key_cleanup(k);
        return CORE_E_INVAL;
    }
    return 0;
}

/* Looks path up without allocating when its keys are bare, literal or quoted with only \"
 * and \\ escapes (what code passes); 1 when the path needs the full key parser. Lookups must
 * not fail for want of memory, or a caller could take "absent" for an answer. */
static int path_walk_simple(const struct userdata_toml_value *t, const char *p,
                            struct userdata_toml_value **out)
{
    char seg[512];
    struct userdata_toml_value *v = NULL;
    for (;;) {
        size_t n = 0;
        if (!t || t->type != USERDATA_TOML_TABLE) {
            *out = NULL;
            return 0;
        }
        if (*p == '"' || *p == '\'') {
            char q = *p++;
            while (*p && *p != q) {
                if (q == '"' && *p == '\\') {
                    if (p[1] != '"' && p[1] != '\\')
                        return 1;
                    p++;
                }
                if ((unsigned char)*p < 0x20 || *p == 0x7f || n == sizeof seg)
                    return 1;
                seg[n++] = *p++;
            }
            if (*p != q)
                return 1;
            p++;
        } else {
            while (is_bare((unsigned char)*p)) {
                if (n == sizeof seg)
                    return 1;
                seg[n++] = *p++;
            }
            if (n == 0)
                return 1;
        }
        v = table_lookup(t, seg, n);
        if (*p == '\0') {
            *out = v;
            return 0;
        }
        if (*p != '.')
            return 1;
        p++;
        t = v;
    }
}

/* The value at path (NULL when absent): 0, CORE_E_INVAL (not a key) or CORE_E_NOMEM. */
static int path_lookup(const struct userdata_toml_value *table, const char *path,
                       struct userdata_toml_value **out)
{
    struct toml_key k;
    struct userdata_toml_value *v = NULL;
    const struct userdata_toml_value *t = table;
    size_t i;
    int rc;
    if (!path)
        return CORE_E_INVAL;
    if (path_walk_simple(table, path, out) == 0)
        return 0;
    if ((rc = path_parse(path, &k)) != 0)
        return rc;
    for (i = 0; i < k.n; i++) {
        if (!t || t->type != USERDATA_TOML_TABLE) {
            v = NULL;
            break;
        }
        v = table_lookup(t, k.part[i].s, k.part[i].n);
        t = v;
    }
    key_cleanup(&k);
    *out = v;
    return 0;
}

struct userdata_toml_value *userdata_toml_root(struct userdata_toml *t)
{
    return t->root;
}

struct userdata_toml_value *userdata_toml_get(const struct userdata_toml_value *table,
                                              const char *path)
{
    struct userdata_toml_value *v = NULL;
    if (!table || path_lookup(table, path, &v) != 0)
        return NULL;
    return v;
}

enum userdata_toml_type userdata_toml_type(const struct userdata_toml_value *v)
{
    return v ? v->type : (enum userdata_toml_type)0;
}

const char *userdata_toml_str(const struct userdata_toml_value *v, size_t *len)
{
    if (!v || !v->s)
        return NULL;
    if (len)
        *len = v->slen;
    return v->s;
}

int64_t userdata_toml_int(const struct userdata_toml_value *v)
{
    return v && v->type == USERDATA_TOML_INTEGER ? v->i : 0;
}

double userdata_toml_float(const struct userdata_toml_value *v)
{
    return v && v->type == USERDATA_TOML_FLOAT ? v->f : 0.0;
}

int userdata_toml_bool(const struct userdata_toml_value *v)
{
    return v && v->type == USERDATA_TOML_BOOL ? v->b : 0;
}

size_t userdata_toml_len(const struct userdata_toml_value *v)
{
    if (!v)
        return 0;
    return v->type == USERDATA_TOML_ARRAY ? v->nitems
           : v->type == USERDATA_TOML_TABLE ? v->nents
                                            : 0;
}

struct userdata_toml_value *userdata_toml_at(const struct userdata_toml_value *arr, size_t i)
{
    if (!arr || arr->type != USERDATA_TOML_ARRAY || i >= arr->nitems)
        return NULL;
    return arr->items[i];
}

const char *userdata_toml_key_at(const struct userdata_toml_value *table, size_t i,
                                 size_t *keylen, struct userdata_toml_value **val)
{
    if (!table || table->type != USERDATA_TOML_TABLE || i >= table->nents)
        return NULL;
    if (keylen)
        *keylen = table->ents[i].keylen;
    if (val)
        *val = table->ents[i].val;
    return table->ents[i].key;
}

/* Puts v (taken on success) at path under table. */
static int set_value(struct userdata_toml_value *table, const char *path,
                     struct userdata_toml_value *v, struct core_err *err)
{
    struct toml_key k;
    struct userdata_toml_value *t = table, *c;
    size_t i;
    long idx;
    int rc = 0;

    if (!table || table->type != USERDATA_TOML_TABLE)
        return core_err_set(err, CORE_E_INVAL, "TOML: %s: not under a table", path);
    if ((rc = path_parse(path, &k)) != 0)
        return rc == CORE_E_NOMEM ? core_err_set(err, rc, "TOML: out of memory")
                                  : core_err_set(err, rc, "TOML: '%s' is not a key", path);
    for (i = 0; i + 1 < k.n; i++) {
        c = table_lookup(t, k.part[i].s, k.part[i].n);
        if (!c) {
            if (!(c = node_new(USERDATA_TOML_TABLE, t->depth + 1))) {
                rc = core_err_set(err, CORE_E_NOMEM, "TOML: out of memory");
                goto out;
            }
            if (table_add(t, k.part[i].s, k.part[i].n, c)) {
                node_free(c);
                rc = core_err_set(err, CORE_E_NOMEM, "TOML: out of memory");
                goto out;
            }
        } else if (c->type != USERDATA_TOML_TABLE) {
            rc = core_err_set(err, CORE_E_INVAL, "spec.userData: %s: '%s' is not a table", path,
                              k.part[i].s);
            goto out;
        }
        t = c;
    }
    v->depth = t->depth + 1;
    for (i = 0; i < v->nitems; i++)
        v->items[i]->depth = v->depth + 1;
    idx = table_find(t, k.part[k.n - 1].s, k.part[k.n - 1].n);
    if (idx >= 0) {
        node_free(t->ents[idx].val);
        t->ents[idx].val = v;
    } else if (table_add(t, k.part[k.n - 1].s, k.part[k.n - 1].n, v)) {
        rc = core_err_set(err, CORE_E_NOMEM, "TOML: out of memory");
    }
out:
    key_cleanup(&k);
    return rc;
}

static int set_new(struct userdata_toml_value *table, const char *path,
                   struct userdata_toml_value *v, struct core_err *err)
{
    int rc;
    if (!v)
        return core_err_set(err, CORE_E_NOMEM, "TOML: out of memory");
    if ((rc = set_value(table, path, v, err)) != 0)
        node_free(v);
    return rc;
}

static struct userdata_toml_value *string_node(const char *s)
{
    struct userdata_toml_value *v = node_new(USERDATA_TOML_STRING, 0);
    if (v && !(v->s = core_strdup(s ? s : ""))) {
        node_free(v);
        return NULL;
    }
    if (v)
        v->slen = strlen(v->s);
    return v;
}

int userdata_toml_set_string(struct userdata_toml_value *table, const char *path,
                             const char *s, struct core_err *err)
{
    return set_new(table, path, string_node(s), err);
}

int userdata_toml_set_int(struct userdata_toml_value *table, const char *path, int64_t val,
                          struct core_err *err)
{
    struct userdata_toml_value *v = node_new(USERDATA_TOML_INTEGER, 0);
    if (v)
        v->i = val;
    return set_new(table, path, v, err);
}

int userdata_toml_set_bool(struct userdata_toml_value *table, const char *path, int val,
                           struct core_err *err)
{
    struct userdata_toml_value *v = node_new(USERDATA_TOML_BOOL, 0);
    if (v)
        v->b = val != 0;
    return set_new(table, path, v, err);
}

int userdata_toml_set_strings(struct userdata_toml_value *table, const char *path,
                              const char *const *s, size_t n, struct core_err *err)
{
    struct userdata_toml_value *a = node_new(USERDATA_TOML_ARRAY, 0), *item;
    size_t i;
    if (!a)
        return core_err_set(err, CORE_E_NOMEM, "TOML: out of memory");
    for (i = 0; i < n; i++) {
        if (!(item = string_node(s[i])) || array_add(a, item)) {
            node_free(item);
            node_free(a);
            return core_err_set(err, CORE_E_NOMEM, "TOML: out of memory");
        }
    }
    return set_new(table, path, a, err);
}

int userdata_toml_set_table(struct userdata_toml_value *table, const char *path,
                            struct userdata_toml_value **out, struct core_err *err)
{
    struct userdata_toml_value *v = node_new(USERDATA_TOML_TABLE, 0);
    int rc = set_new(table, path, v, err);
    if (rc == 0)
        *out = v;
    return rc;
}

int userdata_toml_ensure_table(struct userdata_toml_value *table, const char *path,
                               struct userdata_toml_value **out, struct core_err *err)
{
    struct userdata_toml_value *v = NULL;
    int rc = table ? path_lookup(table, path, &v) : CORE_E_INVAL;
    if (rc == CORE_E_NOMEM)
        return core_err_set(err, rc, "TOML: out of memory");
    if (rc)
        return core_err_set(err, rc, "TOML: '%s' is not a key", path);
    if (!v)
        return userdata_toml_set_table(table, path, out, err);
    if (v->type != USERDATA_TOML_TABLE)
        return core_err_set(err, CORE_E_INVAL, "spec.userData: %s is not a table", path);
    *out = v;
    return 0;
}

int userdata_toml_delete(struct userdata_toml_value *table, const char *path)
{
    struct toml_key k;
    struct userdata_toml_value *t = table;
    size_t i;
    long idx = -1;
    if (!table || path_parse(path, &k) != 0)
        return 0;
    for (i = 0; i + 1 < k.n && t; i++) {
        t = table_lookup(t, k.part[i].s, k.part[i].n);
        if (t && t->type != USERDATA_TOML_TABLE)
            t = NULL;
    }
    if (t)
        idx = table_find(t, k.part[k.n - 1].s, k.part[k.n - 1].n);
    key_cleanup(&k);
    if (idx < 0)
        return 0;
    core_free(t->ents[idx].key);
    node_free(t->ents[idx].val);
    memmove(&t->ents[idx], &t->ents[idx + 1], (t->nents - (size_t)idx - 1) * sizeof t->ents[0]);
    t->nents--;
    if (t->hash && hash_rebuild(t, t->nents) != 0) {
        /* Without memory for a new index, fall back to the linear search. */
        core_free(t->hash);
        t->hash = NULL;
        t->hcap = 0;
    }
    return 1;
}

/* ---- emitter ------------------------------------------------------------------------------ */

static int emit_string(struct core_buf *b, const char *s, size_t n)
{
    size_t i;
    if (core_buf_append_char(b, '"'))
        return CORE_E_TOOBIG;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int rc;
        switch (c) {
        case '"': rc = core_buf_append(b, "\\\"", 2); break;
        case '\\': rc = core_buf_append(b, "\\\\", 2); break;
        case '\b': rc = core_buf_append(b, "\\b", 2); break;
        case '\t': rc = core_buf_append(b, "\\t", 2); break;
        case '\n': rc = core_buf_append(b, "\\n", 2); break;
        case '\f': rc = core_buf_append(b, "\\f", 2); break;
        case '\r': rc = core_buf_append(b, "\\r", 2); break;
        default:
            if (c < 0x20 || c == 0x7f)
                rc = core_buf_appendf(b, "\\u%04X", c);
            else
                rc = core_buf_append_char(b, (char)c);
        }
        if (rc)
            return rc;
    }
    return core_buf_append_char(b, '"');
}

static int emit_key(struct core_buf *b, const char *k, size_t n)
{
    size_t i;
    int bare = n > 0;
    for (i = 0; i < n && bare; i++)
        bare = is_bare((unsigned char)k[i]);
    return bare ? core_buf_append(b, k, n) : emit_string(b, k, n);
}

static int emit_float(struct core_buf *b, double f)
{
    char s[64];
    int prec;
    if (isnan(f))
        return core_buf_append_str(b, "nan");
    if (isinf(f))
        return core_buf_append_str(b, f < 0 ? "-inf" : "inf");
    /* The shortest form that reads back to the same double. */
    for (prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, f);
        if (strtod(s, NULL) == f)
            break;
    }
    if (!strpbrk(s, ".e"))
        return core_buf_appendf(b, "%s.0", s);
    return core_buf_append_str(b, s);
}

static int emit_inline(struct core_buf *b, const struct userdata_toml_value *v);

static int emit_inline_table(struct core_buf *b, const struct userdata_toml_value *t)
{
    size_t i;
    int rc;
    if (t->nents == 0)
        return core_buf_append(b, "{}", 2);
    if ((rc = core_buf_append(b, "{ ", 2)) != 0)
        return rc;
    for (i = 0; i < t->nents; i++) {
        if ((i && (rc = core_buf_append(b, ", ", 2)) != 0) ||
            (rc = emit_key(b, t->ents[i].key, t->ents[i].keylen)) != 0 ||
            (rc = core_buf_append(b, " = ", 3)) != 0 || (rc = emit_inline(b, t->ents[i].val)) != 0)
            return rc;
    }
    return core_buf_append(b, " }", 2);
}

static int emit_inline(struct core_buf *b, const struct userdata_toml_value *v)
{
    size_t i;
    int rc;
    switch (v->type) {
    case USERDATA_TOML_STRING:
        return emit_string(b, v->s, v->slen);
    case USERDATA_TOML_INTEGER:
        return core_buf_appendf(b, "%lld", (long long)v->i);
    case USERDATA_TOML_FLOAT:
        return emit_float(b, v->f);
    case USERDATA_TOML_BOOL:
        return core_buf_append_str(b, v->b ? "true" : "false");
    case USERDATA_TOML_DATETIME:
    case USERDATA_TOML_DATETIME_LOCAL:
    case USERDATA_TOML_DATE_LOCAL:
    case USERDATA_TOML_TIME_LOCAL:
        return core_buf_append(b, v->s, v->slen);
    case USERDATA_TOML_ARRAY:
        if ((rc = core_buf_append_char(b, '[')) != 0)
            return rc;
        for (i = 0; i < v->nitems; i++)
            if ((i && (rc = core_buf_append(b, ", ", 2)) != 0) ||
                (rc = emit_inline(b, v->items[i])) != 0)
                return rc;
        return core_buf_append_char(b, ']');
    case USERDATA_TOML_TABLE:
        return emit_inline_table(b, v);
    }
    return CORE_E_INVAL;
}

static int is_section(const struct userdata_toml_value *v)
{
    return v->type == USERDATA_TOML_TABLE ||
           (v->type == USERDATA_TOML_ARRAY && (v->flags & F_AOT) && v->nitems > 0);
}

/* The body of table t whose header path (already escaped, "" for the root) is in path. */
static int emit_body(struct core_buf *b, const struct userdata_toml_value *t,
                     struct core_buf *path)
{
    size_t i, j, mark;
    int rc;
    for (i = 0; i < t->nents; i++) {
        const struct userdata_toml_value *v = t->ents[i].val;
        if (is_section(v))
            continue;
        if ((rc = emit_key(b, t->ents[i].key, t->ents[i].keylen)) != 0 ||
            (rc = core_buf_append(b, " = ", 3)) != 0 || (rc = emit_inline(b, v)) != 0 ||
            (rc = core_buf_append_char(b, '\n')) != 0)
            return rc;
    }
    for (i = 0; i < t->nents; i++) {
        const struct userdata_toml_value *v = t->ents[i].val;
        int simple = 0;
        if (!is_section(v))
            continue;
        mark = path->len;
        if ((path->len && (rc = core_buf_append_char(path, '.')) != 0) ||
            (rc = emit_key(path, t->ents[i].key, t->ents[i].keylen)) != 0)
            return rc;
        if (v->type == USERDATA_TOML_TABLE) {
            for (j = 0; j < v->nents && !simple; j++)
                simple = !is_section(v->ents[j].val);
            /* A table holding only tables is created by its children's headers. */
            if ((simple || v->nents == 0) &&
                ((b->len && (rc = core_buf_append_char(b, '\n')) != 0) ||
                 (rc = core_buf_appendf(b, "[%s]\n", core_buf_cstr(path))) != 0))
                return rc;
            if ((rc = emit_body(b, v, path)) != 0)
                return rc;
        } else {
            for (j = 0; j < v->nitems; j++) {
                if ((b->len && (rc = core_buf_append_char(b, '\n')) != 0) ||
                    (rc = core_buf_appendf(b, "[[%s]]\n", core_buf_cstr(path))) != 0 ||
                    (rc = emit_body(b, v->items[j], path)) != 0)
                    return rc;
            }
        }
        path->len = mark;
        path->data[mark] = '\0';
    }
    return 0;
}

int userdata_toml_emit(const struct userdata_toml *t, struct core_buf *out, struct core_err *err)
{
    struct core_buf b, path;
    int rc;
    core_buf_init(&b, out->limit ? out->limit : USERDATA_RAW_MAX);
    core_buf_init(&path, out->limit ? out->limit : USERDATA_RAW_MAX);
    rc = emit_body(&b, t->root, &path);
    if (rc == 0 && b.len)
        rc = core_buf_append(out, b.data, b.len);
    if (rc == CORE_E_TOOBIG)
        core_err_set(err, rc, "spec.userData: the TOML document is larger than %zu bytes",
                     out->limit);
    else if (rc)
        core_err_set(err, rc, "spec.userData: out of memory writing TOML");
    core_buf_cleanup(&b);
    core_buf_cleanup(&path);
    return rc;
}

int userdata_toml_equal(const struct userdata_toml_value *a, const struct userdata_toml_value *b)
{
    size_t i;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case USERDATA_TOML_INTEGER:
        return a->i == b->i;
    case USERDATA_TOML_FLOAT:
        return (isnan(a->f) && isnan(b->f)) || a->f == b->f;
    case USERDATA_TOML_BOOL:
        return a->b == b->b;
    case USERDATA_TOML_ARRAY:
        if (a->nitems != b->nitems)
            return 0;
        for (i = 0; i < a->nitems; i++)
            if (!userdata_toml_equal(a->items[i], b->items[i]))
                return 0;
        return 1;
    case USERDATA_TOML_TABLE:
        if (a->nents != b->nents)
            return 0;
        for (i = 0; i < a->nents; i++) {
            const struct userdata_toml_value *o =
                table_lookup(b, a->ents[i].key, a->ents[i].keylen);
            if (!o || !userdata_toml_equal(a->ents[i].val, o))
                return 0;
        }
        return 1;
    default:
        return a->slen == b->slen && memcmp(a->s, b->s, a->slen) == 0;
    }
}
