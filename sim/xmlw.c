/*
 * sim/xmlw.c — the emulator's XML writer: appends well-formed EC2-style XML to a core_buf.
 *
 * Invariants:
 *  - Errors are sticky: the first failure (out of memory, the buffer's limit, nesting deeper
 *    than SIM_XML_DEPTH, a close without an open) is kept in x->err and every later call does
 *    nothing, so a handler can write a whole document and check once at the end.
 *  - Text is always well-formed XML 1.0 whatever bytes it is given: & < > " ' are escaped, a
 *    carriage return is written as a character reference (a parser would turn a raw one into a
 *    newline), and every byte sequence XML cannot carry (control characters, invalid or
 *    overlong UTF-8, surrogates, U+FFFE/U+FFFF) becomes U+FFFD, one per offending byte.
 *  - Element names are the caller's constants; they are written as given and never checked. A
 *    namespaced root's name may live in a caller's buffer: it is copied (see intern_name).
 */
#include "sim/internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char REPLACEMENT[] = "\xEF\xBF\xBD"; /* U+FFFD in UTF-8 */

static void put(struct sim_xml *x, const char *s, size_t n)
{
    int rc;
    if (x->err || !n)
        return;
    rc = core_buf_append(x->out, s, n);
    if (rc)
        x->err = rc;
}

static void puts_(struct sim_xml *x, const char *s)
{
    put(x, s, strlen(s));
}

/* Length of the valid UTF-8 sequence XML may carry at s[0..len), or 0 when s[0] does not
 * start one. Only scalar values allowed by XML 1.0's Char production pass. */
static size_t utf8_char_len(const unsigned char *s, size_t len)
{
    unsigned c = s[0];
    uint32_t cp;
    size_t n;

    if (c < 0x80) {
        if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r')
            return 1;
        return 0;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Overlong forms, surrogates, beyond Unicode, and the two non-characters XML excludes. */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
        return 0;
    return n;
}

static void put_escaped(struct sim_xml *x, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, run = 0; /* s[run..i) is plain text not yet written */

    while (i < len && !x->err) {
        const char *rep = NULL;
        size_t n = 1;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#13;"; break;
        default:
            n = utf8_char_len(s + i, len - i);
            if (!n) {
                rep = REPLACEMENT;
                n = 1;
            }
        }
        if (rep) {
            put(x, text + run, i - run);
            puts_(x, rep);
            run = i + n;
        }
        i += n;
    }
    put(x, text + run, len - run);
}

void sim_xml_init(struct sim_xml *x, struct core_buf *out)
{
    memset(x, 0, sizeof *x);
    x->out = out;
    if (!out)
        x->err = CORE_E_INVAL;
}

void sim_xml_decl(struct sim_xml *x)
{
    puts_(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}

static void open_tag(struct sim_xml *x, const char *name, const char *ns)
{
    if (x->err)
        return;
    if (x->depth >= SIM_XML_DEPTH) {
        x->err = CORE_E_TOOBIG;
        return;
    }
    put(x, "<", 1);
    puts_(x, name);
    if (ns) {
        puts_(x, " xmlns=\"");
        put_escaped(x, ns, strlen(ns));
        put(x, "\"", 1);
    }
    put(x, ">", 1);
    if (!x->err)
        x->stack[x->depth++] = name;
}

void sim_xml_open(struct sim_xml *x, const char *name)
{
    open_tag(x, name, NULL);
}

void sim_xml_open_ns(struct sim_xml *x, const char *name, const char *ns)
{
    open_tag(x, name, ns);
}

void sim_xml_close(struct sim_xml *x)
{
    if (x->err)
        return;
    if (!x->depth) {
        x->err = CORE_E_STATE;
        return;
    }
    put(x, "</", 2);
    puts_(x, x->stack[x->depth - 1]);
    put(x, ">", 1);
    if (!x->err)
        x->depth--;
}

void sim_xml_textn(struct sim_xml *x, const char *name, const char *text, size_t len)
{
    if (!text || x->err)
        return;
    if (x->depth >= SIM_XML_DEPTH) {
        x->err = CORE_E_TOOBIG;
        return;
    }
    put(x, "<", 1);
    puts_(x, name);
    put(x, ">", 1);
    put_escaped(x, text, len);
    put(x, "</", 2);
    puts_(x, name);
    put(x, ">", 1);
}

void sim_xml_text(struct sim_xml *x, const char *name, const char *text)
{
    if (text)
        sim_xml_textn(x, name, text, strlen(text));
}

void sim_xml_textf(struct sim_xml *x, const char *name, const char *fmt, ...)
{
    char small[256];
    va_list ap, ap2;
    int n;

    if (x->err)
        return;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        x->err = CORE_E_INVAL;
        return;
    }
    if ((size_t)n < sizeof small) {
        va_end(ap2);
        sim_xml_textn(x, name, small, (size_t)n);
        return;
    }
    {
        char *big = core_malloc((size_t)n + 1);
        if (!big) {
            va_end(ap2);
            x->err = CORE_E_NOMEM;
            return;
        }
        vsnprintf(big, (size_t)n + 1, fmt, ap2);
        va_end(ap2);
        sim_xml_textn(x, name, big, (size_t)n);
        core_free(big);
    }
}

void sim_xml_i64(struct sim_xml *x, const char *name, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    sim_xml_textn(x, name, buf, (size_t)n);
}

void sim_xml_bool(struct sim_xml *x, const char *name, int v)
{
    sim_xml_text(x, name, v ? "true" : "false");
}

void sim_xml_time(struct sim_xml *x, const char *name, core_ns wall)
{
    char buf[48], date[32];
    struct tm tm;
    /* Floor division, so times before 1970 still get a millisecond part in [0, 999]. */
    int64_t secs = wall / CORE_NS_PER_S;
    int64_t rem = wall % CORE_NS_PER_S;
    time_t t;
    if (rem < 0) {
        rem += CORE_NS_PER_S;
        secs--;
    }
    t = (time_t)secs;
    if (!gmtime_r(&t, &tm) || !strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm)) {
        x->err = x->err ? x->err : CORE_E_INVAL;
        return;
    }
    snprintf(buf, sizeof buf, "%s.%03dZ", date, (int)(rem / CORE_NS_PER_MS));
    sim_xml_text(x, name, buf);
}

void sim_xml_price(struct sim_xml *x, const char *name, double usd)
{
    char buf[64];
    /* Non-finite or absurd prices would print as "inf" or 300 digits: neither is EC2's. */
    if (!isfinite(usd) || usd < 0 || usd > 1e12)
        usd = 0;
    snprintf(buf, sizeof buf, "%.6f", usd);
    sim_xml_text(x, name, buf);
}

int sim_xml_finish(struct sim_xml *x)
{
    if (x->err)
        return x->err;
    if (x->depth)
        return CORE_E_STATE;
    return 0;
}

void sim_xml_tags(struct sim_xml *x, const struct aws_ec2_tags *t)
{
    if (!t || !t->n)
        return;
    sim_xml_open(x, "tagSet");
    for (size_t i = 0; i < t->n; i++) {
        sim_xml_open(x, "item");
        sim_xml_text(x, "key", t->v[i].key ? t->v[i].key : "");
        sim_xml_text(x, "value", t->v[i].value ? t->v[i].value : "");
        sim_xml_close(x);
    }
    sim_xml_close(x);
}
