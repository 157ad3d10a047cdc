/*
 * sim/report.c — the report of `stoker sim`: the summary as an aligned text table, and a
 * self-contained HTML page with the same table, the boot model's parameters and inline SVG
 * charts (pods pending over time, cumulative launches by path, warm-pool instances by phase
 * when there were any, the distribution of pod wait) drawn here as polylines and rects. Both
 * name the boot model in one line (default or custom, a hash of its table, the medians of
 * both paths), so every figure says which model produced it.
 *
 * Invariants: the page loads nothing (no script, no src or href, no external font, stylesheet
 * or image; the only URIs are the XHTML and SVG namespace names, which are never fetched) and
 * is well-formed XML whatever the inputs: every element closed, every attribute quoted, every
 * piece of text and every attribute value escaped (& < > " '), control characters other than
 * tab and newline and bytes that are not UTF-8 replaced by U+FFFD; so it parses with an XML
 * parser. A figure computed from no sample (no warm launch, no bound pod) is shown as "-",
 * never as 0. Both functions append to the caller's buffer and on failure (CORE_E_NOMEM from
 * the tracker included) leave it as it was; numbers are formatted with the C locale's snprintf
 * (stoker never calls setlocale), so a report is the same bytes for the same run.
 */
#include "sim/tracker_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LINE_MAX_ 1024
#define ROWS_MAX 40
#define CHART_W 640
#define CHART_H 240
#define M_LEFT 56
#define M_RIGHT 16
#define M_TOP 16
#define M_BOTTOM 40
#define HIST_BINS 20
/* Notes in the text report: the runner builds up to 2 KiB; the rest is cut at a character. */
#define NOTES_MAX 4096
#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

struct out {
    struct core_buf *b;
    int rc;
};

static void put(struct out *o, const char *s)
{
    if (!o->rc)
        o->rc = core_buf_append_str(o->b, s);
}

static void pf(struct out *o, const char *fmt, ...) CORE_PRINTF(2, 3);
static void pf(struct out *o, const char *fmt, ...)
{
    char line[LINE_MAX_];
    va_list ap;
    int n;

    if (o->rc)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        o->rc = CORE_E_TOOBIG;
        return;
    }
    o->rc = core_buf_append(o->b, line, (size_t)n);
}

/* The length of the well-formed UTF-8 sequence at s that XML allows (no overlong form, no
 * surrogate, nothing above U+10FFFF, not U+FFFE or U+FFFF), or 0. s[0] >= 0x80. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned long cp;
    size_t n;

    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1fu;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0fu;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07u;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
        return 0;
    return n;
}

/* Text and attribute values alike. */
static void esc(struct out *o, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (s && *s && !o->rc) {
        size_t n = 1;
        switch (*s) {
        case '&': put(o, "&amp;"); break;
        case '<': put(o, "&lt;"); break;
        case '>': put(o, "&gt;"); break;
        case '"': put(o, "&quot;"); break;
        case '\'': put(o, "&#39;"); break;
        case '\t':
        case '\n': o->rc = core_buf_append_char(o->b, (char)*s); break;
        default:
            if (*s < 0x20) {
                put(o, REPLACEMENT); /* XML 1.0 has no way to write these */
            } else if (*s < 0x80) {
                o->rc = core_buf_append_char(o->b, (char)*s);
            } else if ((n = utf8_len(s)) > 0) {
                o->rc = core_buf_append(o->b, s, n);
            } else {
                n = 1;
                put(o, REPLACEMENT);
            }
            break;
        }
        s += n;
    }
}

/* How many of the first max bytes of s to keep so that no UTF-8 sequence is cut. */
static size_t cut_at_char(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/* Ends an append: on failure the buffer goes back to what it held. */
static int finish(struct out *o, size_t len0)
{
    if (o->rc && o->b->data && o->b->len >= len0) {
        o->b->len = len0;
        o->b->data[len0] = '\0';
    }
    return o->rc;
}

/* ------------------------------------------------------------------------------------------ */
/* The rows, shared by both forms                                                              */
/* ------------------------------------------------------------------------------------------ */

struct row {
    const char *label;
    char value[320];
};

static void secs(char *out, size_t outsz, double s)
{
    if (s >= 600)
        snprintf(out, outsz, "%.1f min", s / 60.0);
    else
        snprintf(out, outsz, "%.1f s", s);
}

/* A duration from nsamples samples: "-" from none. */
static void secs_of(char *out, size_t outsz, double s, size_t nsamples)
{
    if (nsamples == 0)
        core_strlcpy(out, "-", outsz);
    else
        secs(out, outsz, s);
}

/* Three percentiles of the bound pods, and which pods they leave out. */
static void three(char *out, size_t outsz, double a, double b, double c,
                  const struct sim_tracker_stats *st)
{
    char x[32], y[32], z[32], why[96] = "";
    unsigned long unbound = st->s.pods_created - st->s.pods_bound;
    unsigned long deleted = unbound - st->s.pods_pending_end;

    if (st->nwaits == 0) {
        core_strlcpy(x, "-", sizeof x);
    } else {
        secs(x, sizeof x, a);
        secs(y, sizeof y, b);
        secs(z, sizeof z, c);
    }
    if (unbound && deleted == 0)
        snprintf(why, sizeof why, " (%lu still pending, not counted)", unbound);
    else if (unbound)
        snprintf(why, sizeof why, " (%lu never bound: %lu still pending, %lu deleted; not "
                 "counted)", unbound, st->s.pods_pending_end, deleted);
    if (st->nwaits == 0)
        snprintf(out, outsz, "%s%s", x, why);
    else
        snprintf(out, outsz, "%s / %s / %s%s", x, y, z, why);
}

static void boot_id(char *out, size_t outsz, const struct sim_boot_model *m);

/* The rows into r[0..*nrows); 0 or the tracker's error (CORE_E_NOMEM). */
static int build_rows(const struct sim_tracker *t, const struct sim_report_info *info,
                      struct row *r, size_t *nrows)
{
    struct sim_tracker_stats st;
    struct sim_summary s;
    size_t n = 0;
    char a[32], b[32];
    int rc;

    if ((rc = sim_tracker_stats(t, &st)) != 0)
        return rc;
    s = st.s;
#define ROW(lbl, ...) (r[n].label = (lbl), snprintf(r[n].value, sizeof r[n].value, __VA_ARGS__), n++)
    ROW("scenario", "%s", info && info->scenario ? info->scenario : "-");
    ROW("seed", "%llu", (unsigned long long)(info ? info->seed : 0));
    if (info && info->warm_pool)
        ROW("warm pool", "%s", info->warm_pool);
    if (info && info->advice)
        ROW("advice used", "%.300s", info->advice);
    ROW("pods created", "%lu", s.pods_created);
    ROW("pods bound", "%lu", s.pods_bound);
    ROW("pods pending at end", "%lu", s.pods_pending_end);
    three(r[n].value, sizeof r[n].value, s.wait_p50_s, s.wait_p90_s, s.wait_p99_s, &st);
    r[n++].label = "pod wait p50 / p90 / p99";
    three(r[n].value, sizeof r[n].value, s.ready_p50_s, s.ready_p90_s, s.ready_p99_s, &st);
    r[n++].label = "pod -> node Ready p50 / p90 / p99";
    if (s.burst_bound) {
        ROW("burst pods (bound / created)", "%lu / %lu", s.burst_bound, s.burst_pods);
        ROW("burst pod wait p50 / p90 / p99", "%.1f s / %.1f s / %.1f s", s.burst_wait_p50_s,
            s.burst_wait_p90_s, s.burst_wait_p99_s);
        ROW("burst pod -> node Ready p50 / p90 / p99", "%.1f s / %.1f s / %.1f s",
            s.burst_ready_p50_s, s.burst_ready_p90_s, s.burst_ready_p99_s);
    }
    ROW("launches cold / warm", "%lu / %lu", s.launches_cold, s.launches_warm);
    secs_of(a, sizeof a, s.node_ready_cold_p50_s, st.ncold_ready);
    secs_of(b, sizeof b, s.node_ready_warm_p50_s, st.nwarm_ready);
    ROW("node Ready after launch p50 cold / warm", "%s / %s", a, b);
    ROW("instances at most", "%lu", s.instances_max);
    ROW("EC2 calls", "%lu", info ? info->ec2_calls : 0);
    /* Per node that became Ready (either path): what serving a node cost in calls. */
    if (s.nodes_ready_total)
        ROW("EC2 calls per Ready node", "%.2f (%lu nodes)",
            (double)(info ? info->ec2_calls : 0) / (double)s.nodes_ready_total,
            s.nodes_ready_total);
    else
        ROW("EC2 calls per Ready node", "-");
    ROW("warm registered unclaimed", "%lu", s.warm_registered_unclaimed);
    ROW("double starts", "%lu", s.double_starts);
    ROW("warm pool peak (stopped, unclaimed)", "%lu ($%.4f/h EBS)", s.warm_peak,
        s.warm_pool_peak_usd_per_hour);
    secs(a, sizeof a, info ? info->reaction_p50_s : 0);
    secs(b, sizeof b, info ? info->reaction_p99_s : 0);
    ROW("reaction p50 / p99", "%s / %s", a, b);
    if (info && info->batches)
        ROW("controller deciding (CPU)", "%.1f ms in %lu batches, largest %.1f ms (%.3f%% of "
            "p50 wait)", info->decide_total_s * 1e3, info->batches, info->decide_max_s * 1e3,
            st.nwaits && s.wait_p50_s > 0 ? 100.0 * info->decide_max_s / s.wait_p50_s : 0.0);
    ROW("cost (on-demand, running time)", "$%.2f", s.cost_usd);
    ROW("warm pool cost per hour (EBS)", "$%.4f", s.warm_pool_cost_usd_per_hour);
    ROW("wall time", "%.2f s", info ? info->wall_seconds : 0);
    boot_id(r[n].value, sizeof r[n].value, sim_tracker_boot_model(t));
    r[n++].label = "boot model";
#undef ROW
    *nrows = n;
    return 0;
}

/* FNV-1a over the model's numbers as text (the same bytes for the same table on any host that
 * formats doubles the same way: C locale). */
static uint32_t boot_hash(const struct sim_boot_model *m)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < SIM_BOOT_COUNT; i++) {
        char t[160];
        int n = snprintf(t, sizeof t, "%s=%.6g/%.6g/%.6g/%.6g;",
                         m->step[i].name ? m->step[i].name : "?", m->step[i].median_s,
                         m->step[i].sigma, m->step[i].min_s, m->step[i].max_s);
        size_t len = n < 0 ? 0 : (size_t)n < sizeof t ? (size_t)n : sizeof t - 1;
        for (size_t k = 0; k < len; k++) {
            h ^= (unsigned char)t[k];
            h *= 16777619u;
        }
    }
    return h;
}

/* One line naming the boot model: "default" or "custom", a hash of its table, and the two
 * paths' medians it implies. */
static void boot_id(char *out, size_t outsz, const struct sim_boot_model *m)
{
    struct sim_boot_model def;
    const struct sim_boot_param *p;

    if (!m) {
        core_strlcpy(out, "-", outsz);
        return;
    }
    sim_boot_model_default(&def);
    p = m->step;
    snprintf(out, outsz,
             "%s #%08x: cold %.1f s (launch %.0f + join %.0f + ready %.0f), warm %.1f s "
             "(start %.0f + join %.0f + ready %.0f), warm-up %.0f s",
             boot_hash(m) == boot_hash(&def) ? "default" : "custom", (unsigned)boot_hash(m),
             p[SIM_BOOT_LAUNCH].median_s + p[SIM_BOOT_JOIN_COLD].median_s +
                 p[SIM_BOOT_READY].median_s,
             p[SIM_BOOT_LAUNCH].median_s, p[SIM_BOOT_JOIN_COLD].median_s,
             p[SIM_BOOT_READY].median_s,
             p[SIM_BOOT_START].median_s + p[SIM_BOOT_JOIN_WARM].median_s +
                 p[SIM_BOOT_READY].median_s,
             p[SIM_BOOT_START].median_s, p[SIM_BOOT_JOIN_WARM].median_s,
             p[SIM_BOOT_READY].median_s, p[SIM_BOOT_WARMUP].median_s);
}

static void boot_value(char *out, size_t outsz, const struct sim_boot_param *p)
{
    snprintf(out, outsz, "median %.1f s, sigma %.2f, %.1f-%.1f s", p->median_s, p->sigma,
             p->min_s, p->max_s);
}

/* ------------------------------------------------------------------------------------------ */
/* Text                                                                                        */
/* ------------------------------------------------------------------------------------------ */

int sim_report_text(const struct sim_tracker *t, const struct sim_report_info *info,
                    struct core_buf *out)
{
    struct row rows[ROWS_MAX];
    struct out o = {out, 0};
    size_t len0, n, w = 0;
    const struct sim_boot_model *m;

    if (!t || !out)
        return CORE_E_INVAL;
    len0 = out->len;
    if ((o.rc = build_rows(t, info, rows, &n)) != 0)
        return o.rc;
    for (size_t i = 0; i < n; i++)
        if (strlen(rows[i].label) > w)
            w = strlen(rows[i].label);
    for (size_t i = 0; i < n; i++)
        pf(&o, "  %-*s  %s\n", (int)w, rows[i].label, rows[i].value);
    m = sim_tracker_boot_model(t);
    put(&o, "  boot model:\n");
    for (int i = 0; m && i < SIM_BOOT_COUNT; i++) {
        char v[128];
        boot_value(v, sizeof v, &m->step[i]);
        pf(&o, "    %-10s %s\n", m->step[i].name ? m->step[i].name : "?", v);
    }
    if (info && info->notes && info->notes[0]) {
        put(&o, "  notes: ");
        if (!o.rc)
            o.rc = core_buf_append(o.b, info->notes, cut_at_char(info->notes, NOTES_MAX));
        put(&o, "\n");
    }
    return finish(&o, len0);
}

/* ------------------------------------------------------------------------------------------ */
/* Charts                                                                                      */
/* ------------------------------------------------------------------------------------------ */

struct frame {
    double xmax, ymax;
};

static double px(const struct frame *f, double x)
{
    return M_LEFT + (f->xmax > 0 ? x / f->xmax : 0) * (CHART_W - M_LEFT - M_RIGHT);
}

static double py(const struct frame *f, double y)
{
    return CHART_H - M_BOTTOM - (f->ymax > 0 ? y / f->ymax : 0) * (CHART_H - M_TOP - M_BOTTOM);
}

/* A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least v. */
static double nice_max(double v)
{
    double p = 1;
    if (v <= 0)
        return 1;
    while (p * 10 <= v)
        p *= 10;
    while (p > v * 10)
        p /= 10;
    if (v <= p)
        return p;
    if (v <= 2 * p)
        return 2 * p;
    if (v <= 5 * p)
        return 5 * p;
    return 10 * p;
}

static void chart_open(struct out *o, const char *title, const struct frame *f,
                       const char *xlabel, const char *ylabel)
{
    pf(o, "<figure><figcaption>");
    esc(o, title);
    pf(o, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
          "width=\"%d\" height=\"%d\" "
          "viewBox=\"0 0 %d %d\" role=\"img\">\n",
       CHART_W, CHART_H, CHART_W, CHART_H);
    pf(o, "<title>");
    esc(o, title);
    pf(o, "</title>\n");
    /* Axes, three ticks on each. */
    pf(o, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", M_LEFT,
       CHART_H - M_BOTTOM, CHART_W - M_RIGHT, CHART_H - M_BOTTOM);
    pf(o, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", M_LEFT, M_TOP,
       M_LEFT, CHART_H - M_BOTTOM);
    for (int i = 0; i <= 2; i++) {
        double xv = f->xmax * i / 2.0, yv = f->ymax * i / 2.0;
        pf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
           px(f, xv), CHART_H - M_BOTTOM + 14, xv);
        pf(o, "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
           M_LEFT - 4, py(f, yv) + 4, yv);
        if (i)
            pf(o, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n", M_LEFT,
               py(f, yv), CHART_W - M_RIGHT, py(f, yv));
    }
    pf(o, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", (CHART_W) / 2,
       CHART_H - 6);
    esc(o, xlabel);
    pf(o, "</text>\n<text class=\"label\" x=\"12\" y=\"%d\" text-anchor=\"middle\" "
          "transform=\"rotate(-90 12 %d)\">",
       CHART_H / 2, CHART_H / 2);
    esc(o, ylabel);
    put(o, "</text>\n");
}

static void chart_close(struct out *o)
{
    put(o, "</svg></figure>\n");
}

/* A polyline of one field of the samples; field: 0 pending, 1 cold, 2 warm launches; 3
 * warm-pool instances warming, 4 warm (stopped, unclaimed), 5 claimed. */
static double sample_value(const struct sim_sample *s, int field)
{
    switch (field) {
    case 0: return s->pods_pending;
    case 1: return (double)s->launches_cold;
    case 2: return (double)s->launches_warm;
    case 3: return s->warm_warming;
    case 4: return s->warm_stopped;
    default: return s->warm_claimed;
    }
}

static void polyline(struct out *o, const struct frame *f, const struct sim_sample *s, size_t n,
                     int field, const char *cls)
{
    pf(o, "<polyline class=\"%s\" points=\"%.1f,%.1f", cls, px(f, 0), py(f, 0));
    for (size_t i = 0; i < n; i++)
        pf(o, " %.1f,%.1f", px(f, (double)s[i].t / 60e9), py(f, sample_value(&s[i], field)));
    put(o, "\"/>\n");
}

static void chart_pending(struct out *o, const struct sim_sample *s, size_t n)
{
    struct frame f = {1, 1};
    double ymax = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i].pods_pending > ymax)
            ymax = s[i].pods_pending;
    f.xmax = nice_max(n ? (double)s[n - 1].t / 60e9 : 1);
    f.ymax = nice_max(ymax);
    chart_open(o, "Pods pending over time", &f, "minutes", "pods pending");
    polyline(o, &f, s, n, 0, "pending");
    chart_close(o);
}

static void chart_launches(struct out *o, const struct sim_sample *s, size_t n)
{
    struct frame f = {1, 1};
    double ymax = 0;
    for (size_t i = 0; i < n; i++) {
        if ((double)s[i].launches_cold > ymax)
            ymax = (double)s[i].launches_cold;
        if ((double)s[i].launches_warm > ymax)
            ymax = (double)s[i].launches_warm;
    }
    f.xmax = nice_max(n ? (double)s[n - 1].t / 60e9 : 1);
    f.ymax = nice_max(ymax);
    chart_open(o, "Launches by path (cumulative)", &f, "minutes", "launches");
    polyline(o, &f, s, n, 1, "cold");
    polyline(o, &f, s, n, 2, "warm");
    pf(o, "<text class=\"legend cold\" x=\"%d\" y=\"%d\">cold launch</text>\n", M_LEFT + 8,
       M_TOP + 12);
    pf(o, "<text class=\"legend warm\" x=\"%d\" y=\"%d\">warm start</text>\n", M_LEFT + 8,
       M_TOP + 28);
    chart_close(o);
}

/* Whether any sample saw a warm-pool instance: the warm-pool chart is drawn only then. */
static int any_warm_pool(const struct sim_sample *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].warm_warming || s[i].warm_stopped || s[i].warm_claimed)
            return 1;
    return 0;
}

static void chart_warm_pool(struct out *o, const struct sim_sample *s, size_t n)
{
    struct frame f = {1, 1};
    double ymax = 0;
    for (size_t i = 0; i < n; i++)
        for (int k = 3; k <= 5; k++)
            if (sample_value(&s[i], k) > ymax)
                ymax = sample_value(&s[i], k);
    f.xmax = nice_max(n ? (double)s[n - 1].t / 60e9 : 1);
    f.ymax = nice_max(ymax);
    chart_open(o, "Warm pool instances by phase", &f, "minutes", "instances");
    polyline(o, &f, s, n, 3, "warming");
    polyline(o, &f, s, n, 4, "warm");
    polyline(o, &f, s, n, 5, "claimed");
    pf(o, "<text class=\"legend warming\" x=\"%d\" y=\"%d\">warming</text>\n", M_LEFT + 8,
       M_TOP + 12);
    pf(o, "<text class=\"legend warm\" x=\"%d\" y=\"%d\">warm (stopped)</text>\n", M_LEFT + 8,
       M_TOP + 28);
    pf(o, "<text class=\"legend claimed\" x=\"%d\" y=\"%d\">claimed</text>\n", M_LEFT + 8,
       M_TOP + 44);
    chart_close(o);
}

static void chart_waits(struct out *o, const double *w, size_t n)
{
    unsigned long bins[HIST_BINS] = {0};
    unsigned long top = 0;
    struct frame f;
    double width;

    f.xmax = nice_max(n ? w[n - 1] : 1);
    width = f.xmax / HIST_BINS;
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(w[i] / width);
        bins[b < HIST_BINS ? b : HIST_BINS - 1]++;
    }
    for (size_t b = 0; b < HIST_BINS; b++)
        if (bins[b] > top)
            top = bins[b];
    f.ymax = nice_max((double)top);
    chart_open(o, "Distribution of pod wait (pending to bound)", &f, "seconds", "pods");
    for (size_t b = 0; b < HIST_BINS; b++) {
        if (!bins[b])
            continue;
        double x0 = px(&f, width * (double)b), x1 = px(&f, width * (double)(b + 1));
        double y = py(&f, (double)bins[b]);
        pf(o, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
              "<title>%lu pods</title></rect>\n",
           x0 + 1, y, x1 - x0 - 2 > 1 ? x1 - x0 - 2 : 1, (CHART_H - M_BOTTOM) - y, bins[b]);
    }
    chart_close(o);
}

/* ------------------------------------------------------------------------------------------ */
/* HTML                                                                                        */
/* ------------------------------------------------------------------------------------------ */

static const char style[] =
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:60em}"
    "table{border-collapse:collapse;margin:1em 0}"
    "td,th{padding:.2em .8em;border-bottom:1px solid #ddd;text-align:left}"
    "td.v{text-align:right;font-variant-numeric:tabular-nums}"
    "figure{margin:1.5em 0}figcaption{font-weight:600;margin-bottom:.3em}"
    ".axis{stroke:#444;stroke-width:1}.grid{stroke:#ddd;stroke-width:1}"
    ".tick,.label,.legend{font-size:11px;fill:#444}"
    "polyline{fill:none;stroke-width:2}.pending{stroke:#c0392b}"
    ".cold{stroke:#2c6fbb}.warm{stroke:#e08a00}.warming{stroke:#8e44ad}"
    ".claimed{stroke:#27ae60}"
    "text.cold{fill:#2c6fbb;stroke:none}text.warm{fill:#e08a00;stroke:none}"
    "text.warming{fill:#8e44ad;stroke:none}text.claimed{fill:#27ae60;stroke:none}"
    ".bar{fill:#2c6fbb}";

int sim_report_html(const struct sim_tracker *t, const struct sim_report_info *info,
                    struct core_buf *out)
{
    struct row rows[ROWS_MAX];
    struct out o = {out, 0};
    size_t len0, n = 0, ns = 0, nw = 0;
    const struct sim_sample *s;
    const struct sim_boot_model *m;
    double *waits = NULL;
    const char *name = info && info->scenario ? info->scenario : "-";

    if (!t || !out)
        return CORE_E_INVAL;
    len0 = out->len;
    o.rc = sim_tracker_waits(t, &waits, &nw);
    if (!o.rc)
        o.rc = build_rows(t, info, rows, &n);
    s = sim_tracker_samples(t, &ns);
    m = sim_tracker_boot_model(t);

    put(&o, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n"
            "<head><meta charset=\"utf-8\"/>\n<title>stoker sim: ");
    esc(&o, name);
    pf(&o, "</title>\n<style>%s</style></head>\n<body>\n<h1>stoker sim: ", style);
    esc(&o, name);
    put(&o, "</h1>\n");
    if (info && info->notes && info->notes[0]) {
        put(&o, "<p>");
        esc(&o, info->notes);
        put(&o, "</p>\n");
    }
    put(&o, "<h2>Summary</h2>\n<table>\n");
    for (size_t i = 0; i < n; i++) {
        put(&o, "<tr><th>");
        esc(&o, rows[i].label);
        put(&o, "</th><td class=\"v\">");
        esc(&o, rows[i].value);
        put(&o, "</td></tr>\n");
    }
    put(&o, "</table>\n<h2>Charts</h2>\n");
    chart_pending(&o, s, ns);
    chart_launches(&o, s, ns);
    if (any_warm_pool(s, ns))
        chart_warm_pool(&o, s, ns);
    chart_waits(&o, waits, nw);
    put(&o, "<h2>Boot model</h2>\n<table>\n<tr><th>step</th><th>median</th><th>sigma</th>"
            "<th>clamp</th><th>source</th></tr>\n");
    for (int i = 0; m && i < SIM_BOOT_COUNT; i++) {
        const struct sim_boot_param *p = &m->step[i];
        put(&o, "<tr><td>");
        esc(&o, p->name ? p->name : "?");
        pf(&o, "</td><td class=\"v\">%.1f s</td><td class=\"v\">%.2f</td>"
               "<td class=\"v\">%.1f-%.1f s</td><td>",
           p->median_s, p->sigma, p->min_s, p->max_s);
        esc(&o, p->source ? p->source : "");
        put(&o, "</td></tr>\n");
    }
    put(&o, "</table>\n</body>\n</html>\n");
    core_free(waits);
    return finish(&o, len0);
}
