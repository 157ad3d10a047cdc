/*
 * launcher/catalog.c — the instance catalog: parses the CSV compiled into the binary (or given
 * by a test) into an immutable array of struct launcher_itype with a by-name index.
 *
 * Invariants:
 *  - One private copy of the CSV text is tokenised in place (separators become NULs), so every
 *    string an entry holds points into that copy, into the label arena or at a static literal;
 *    the catalog frees the copy, the label arena, the entry array and the map and nothing
 *    else. A catalog built from DescribeInstanceTypes results keeps its strings the same way
 *    (one exactly sized block instead of the CSV copy). A partial catalog is freed by the same
 *    launcher_catalog_free, so there is one cleanup path.
 *  - Every entry's index is its position and its labels[] are rendered once, at load, into one
 *    arena, so the scheduler reads label values without formatting anything.
 *  - Parsing is bounded (LAUNCHER_CATALOG_MAX_BYTES, LAUNCHER_CATALOG_MAX_ROWS) and strict: the
 *    header must match the expected columns exactly, because a column that moved would
 *    otherwise be read silently as another one.
 *  - Errors name the line (1-based, header = 1), the column (1-based) and the column's name,
 *    and quote at most a short prefix of the offending cell.
 *  - No I/O and no logging.
 */
#include "launcher/internal.h"

#include "aws/aws.h"
#include "k8s/k8s.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Generated at build time from launcher/data/instance-types.csv (launcher/embed/embed_gen.c). */
extern const unsigned char launcher_catalog_csv[];
extern const size_t launcher_catalog_csv_len;

enum col {
    COL_INSTANCE_TYPE,
    COL_FAMILY,
    COL_CATEGORY,
    COL_GENERATION,
    COL_SIZE,
    COL_ARCH,
    COL_OS,
    COL_VCPU,
    COL_MEMORY_MIB,
    COL_CPU_MANUFACTURER,
    COL_HYPERVISOR,
    COL_NETWORK_BANDWIDTH_MBPS,
    COL_EBS_BANDWIDTH_MBPS,
    COL_LOCAL_NVME_GIB,
    COL_GPU_COUNT,
    COL_GPU_NAME,
    COL_GPU_MANUFACTURER,
    COL_GPU_MEMORY_MIB,
    COL_ACCELERATOR_COUNT,
    COL_ACCELERATOR_NAME,
    COL_ENIS,
    COL_IPV4_PER_ENI,
    COL_BRANCH_ENIS,
    COL_BARE_METAL,
    COL_ALLOC_CPU,
    COL_ALLOC_MEMORY,
    COL_ALLOC_PODS,
    COL_ALLOC_EPHEMERAL_STORAGE,
    COL_OD_PRICE,
    NCOLS
};

/* The header, in order; a mismatch is an error rather than a remapping, see the top comment. */
static const char *const col_names[NCOLS] = {
    "instance_type",    "family",          "category",
    "generation",       "size",            "arch",
    "os",               "vcpu",            "memory_mib",
    "cpu_manufacturer", "hypervisor",      "network_bandwidth_mbps",
    "ebs_bandwidth_mbps", "local_nvme_gib", "gpu_count",
    "gpu_name",         "gpu_manufacturer", "gpu_memory_mib",
    "accelerator_count", "accelerator_name", "enis",
    "ipv4_per_eni",     "branch_enis",     "bare_metal",
    "alloc_cpu",        "alloc_memory",    "alloc_pods",
    "alloc_ephemeral_storage", "od_price_usd_hr_us_east_1",
};

struct launcher_catalog {
    char *text;                   /* the tokenised copy (or string block) strings point into */
    char *labels;                 /* the arena every labels[] value points into */
    struct launcher_itype *types; /* n entries, file order */
    size_t n;
    struct core_map *by_name;     /* name -> struct launcher_itype * (borrowed from types) */
};

void launcher_catalog_free(struct launcher_catalog *c)
{
    if (!c)
        return;
    core_map_free(c->by_name);
    core_free(c->types);
    core_free(c->labels);
    core_free(c->text);
    core_free(c);
}

size_t launcher_catalog_count(const struct launcher_catalog *c)
{
    return c ? c->n : 0;
}

const struct launcher_itype *launcher_catalog_at(const struct launcher_catalog *c, size_t i)
{
    return c && i < c->n ? &c->types[i] : NULL;
}

const struct launcher_itype *launcher_catalog_find(const struct launcher_catalog *c,
                                                   const char *name)
{
    if (!c || !name)
        return NULL;
    return core_map_get(c->by_name, name, NULL);
}

/* ---- cells ---------------------------------------------------------------------------------- */

/* Where the parser is, for error messages. */
struct pos {
    size_t line;
    enum col col;
};

static int cell_err(struct core_err *err, const struct pos *p, const char *cell, const char *what)
{
    /* Only a prefix of the cell: the data is public, but a message must stay readable. */
    return core_err_set(err, CORE_E_PARSE, "instance catalog line %zu column %d (%s): %s: \"%.40s\"",
                        p->line, (int)p->col + 1, col_names[p->col], what, cell);
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* A non-negative decimal integer in [0, max]; empty is 0 unless required. Digits only, because
 * strtoll would also take spaces and signs that have no business in the catalog. */
static int cell_int(const char *cell, int64_t max, int required, const struct pos *p,
                    int64_t *out, struct core_err *err)
{
    int64_t v = 0;
    if (!*cell) {
        if (required)
            return cell_err(err, p, cell, "required value is empty");
        *out = 0;
        return 0;
    }
    if (!all_digits(cell) || core_parse_i64(cell, 0, max, &v) != 0)
        return cell_err(err, p, cell, "not a non-negative integer in range");
    *out = v;
    return 0;
}

static int cell_i32(const char *cell, int required, const struct pos *p, int32_t *out,
                    struct core_err *err)
{
    int64_t v = 0;
    int rc = cell_int(cell, INT32_MAX, required, p, &v, err);
    if (rc == 0)
        *out = (int32_t)v;
    return rc;
}

/* A Kubernetes quantity ("940m", "1392Mi", "17Gi"); empty is 0. milli selects MilliValue. */
static int cell_quantity(const char *cell, int milli, const struct pos *p, int64_t *out,
                         struct core_err *err)
{
    int64_t v = 0;
    int rc;
    if (!*cell) {
        *out = 0;
        return 0;
    }
    rc = milli ? k8s_quantity_parse_milli(cell, &v) : k8s_quantity_parse(cell, &v);
    if (rc != 0 || v < 0)
        return cell_err(err, p, cell, "not a non-negative resource quantity");
    *out = v;
    return 0;
}

static int cell_price(const char *cell, const struct pos *p, double *out, struct core_err *err)
{
    char *end = NULL;
    double v;
    if (!*cell) {
        *out = 0;
        return 0;
    }
    /* strtod accepts "inf", "nan", hex and leading spaces; only plain decimals are prices. */
    if (!((cell[0] >= '0' && cell[0] <= '9') || cell[0] == '.'))
        return cell_err(err, p, cell, "not a non-negative decimal price");
    v = strtod(cell, &end);
    if (end == cell || *end != '\0' || !isfinite(v) || v < 0 ||
        strpbrk(cell, "xXpP") != NULL)
        return cell_err(err, p, cell, "not a non-negative decimal price");
    *out = v;
    return 0;
}

/* ---- rows ----------------------------------------------------------------------------------- */

/* Splits the line [s, s+len) in place at commas into cells[NCOLS]. CORE_E_PARSE when the count
 * differs or a cell is quoted. */
static int split_line(char *s, size_t len, size_t line, char *cells[NCOLS], struct core_err *err)
{
    size_t ncell = 0;
    char *start = s;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] == '"')
            return core_err_set(err, CORE_E_PARSE,
                                "instance catalog line %zu column %zu: quoted cells are not "
                                "supported", line, ncell + 1);
        if (i == len || s[i] == ',') {
            if (ncell == NCOLS)
                return core_err_set(err, CORE_E_PARSE,
                                    "instance catalog line %zu column %d: more than %d cells",
                                    line, NCOLS + 1, NCOLS);
            s[i] = '\0';
            cells[ncell++] = start;
            start = s + i + 1;
        }
    }
    if (ncell != NCOLS)
        return core_err_set(err, CORE_E_PARSE,
                            "instance catalog line %zu column %zu (%s): missing; the row has "
                            "%zu of %d cells", line, ncell + 1, col_names[ncell], ncell, NCOLS);
    return 0;
}

static int check_header(char *cells[NCOLS], struct core_err *err)
{
    for (int i = 0; i < NCOLS; i++)
        if (strcmp(cells[i], col_names[i]) != 0)
            return core_err_set(err, CORE_E_PARSE,
                                "instance catalog line 1 column %d: header \"%.40s\", expected "
                                "\"%s\"", i + 1, cells[i], col_names[i]);
    return 0;
}

static int parse_row(char *cells[NCOLS], size_t line, struct launcher_itype *t,
                     struct core_err *err)
{
    struct pos p = {line, COL_INSTANCE_TYPE};
    int64_t v = 0;
    int rc;

    if (!*cells[COL_INSTANCE_TYPE])
        return cell_err(err, &p, "", "required value is empty");
    t->name = cells[COL_INSTANCE_TYPE];
    t->family = cells[COL_FAMILY];
    t->category = cells[COL_CATEGORY];
    t->size = cells[COL_SIZE];
    t->os = cells[COL_OS];
    t->cpu_manufacturer = cells[COL_CPU_MANUFACTURER];
    t->hypervisor = cells[COL_HYPERVISOR];
    t->gpu_name = cells[COL_GPU_NAME];
    t->gpu_manufacturer = cells[COL_GPU_MANUFACTURER];
    t->accelerator_name = cells[COL_ACCELERATOR_NAME];

    p.col = COL_GENERATION;
    if ((rc = cell_int(cells[p.col], 1000, 0, &p, &v, err)) != 0)
        return rc;
    t->generation = (int)v;

    /* Kubernetes names (kubernetes.io/arch) are what the scheduler matches; EC2's are what
     * DescribeImages and the launch path use. The catalog may carry either spelling. */
    p.col = COL_ARCH;
    if (strcmp(cells[p.col], "amd64") == 0 || strcmp(cells[p.col], "x86_64") == 0) {
        t->arch = "amd64";
        t->ec2_arch = "x86_64";
    } else if (strcmp(cells[p.col], "arm64") == 0 || strcmp(cells[p.col], "aarch64") == 0) {
        t->arch = "arm64";
        t->ec2_arch = "arm64";
    } else {
        return cell_err(err, &p, cells[p.col], "expected amd64, x86_64 or arm64");
    }

    p.col = COL_VCPU;
    if ((rc = cell_i32(cells[p.col], 1, &p, &t->vcpu, err)) != 0)
        return rc;
    if (t->vcpu == 0)
        return cell_err(err, &p, cells[p.col], "must be positive");
    /* Bounds keep every later product (MiB to bytes, millicores) far inside int64. */
    p.col = COL_MEMORY_MIB;
    if ((rc = cell_int(cells[p.col], INT64_C(1) << 32, 1, &p, &t->memory_mib, err)) != 0)
        return rc;
    if (t->memory_mib == 0)
        return cell_err(err, &p, cells[p.col], "must be positive");

    struct {
        enum col col;
        int64_t *dst;
    } i64s[] = {
        {COL_NETWORK_BANDWIDTH_MBPS, &t->network_bandwidth_mbps},
        {COL_EBS_BANDWIDTH_MBPS, &t->ebs_bandwidth_mbps},
        {COL_LOCAL_NVME_GIB, &t->local_nvme_gib},
        {COL_GPU_MEMORY_MIB, &t->gpu_memory_mib},
    };
    for (size_t i = 0; i < sizeof i64s / sizeof i64s[0]; i++) {
        p.col = i64s[i].col;
        if ((rc = cell_int(cells[p.col], INT64_C(1) << 40, 0, &p, i64s[i].dst, err)) != 0)
            return rc;
    }
    struct {
        enum col col;
        int32_t *dst;
    } i32s[] = {
        {COL_GPU_COUNT, &t->gpu_count},       {COL_ACCELERATOR_COUNT, &t->accelerator_count},
        {COL_ENIS, &t->enis},                 {COL_IPV4_PER_ENI, &t->ipv4_per_eni},
        {COL_BRANCH_ENIS, &t->branch_enis},   {COL_ALLOC_PODS, &t->alloc_pods},
    };
    for (size_t i = 0; i < sizeof i32s / sizeof i32s[0]; i++) {
        p.col = i32s[i].col;
        if ((rc = cell_i32(cells[p.col], 0, &p, i32s[i].dst, err)) != 0)
            return rc;
    }

    p.col = COL_BARE_METAL;
    if (strcmp(cells[p.col], "true") == 0)
        t->bare_metal = true;
    else if (strcmp(cells[p.col], "false") == 0 || !*cells[p.col])
        t->bare_metal = false;
    else
        return cell_err(err, &p, cells[p.col], "expected true, false or empty");

    p.col = COL_ALLOC_CPU;
    if ((rc = cell_quantity(cells[p.col], 1, &p, &t->alloc_cpu_milli, err)) != 0)
        return rc;
    p.col = COL_ALLOC_MEMORY;
    if ((rc = cell_quantity(cells[p.col], 0, &p, &t->alloc_memory_bytes, err)) != 0)
        return rc;
    p.col = COL_ALLOC_EPHEMERAL_STORAGE;
    if ((rc = cell_quantity(cells[p.col], 0, &p, &t->alloc_ephemeral_bytes, err)) != 0)
        return rc;
    p.col = COL_OD_PRICE;
    return cell_price(cells[p.col], &p, &t->od_price_usd_hr, err);
}

/* ---- labels ------------------------------------------------------------------------------- */

/* Label values are rendered as offsets into one growing arena and turned into pointers only
 * once it has stopped moving. The limit is far above what LAUNCHER_CATALOG_MAX_ROWS types
 * need (a few hundred bytes each). */
#define LABEL_ARENA_MAX ((size_t)256 << 20)

static int render_labels(struct launcher_catalog *c, struct core_err *err)
{
    struct core_buf arena;
    size_t len = 0;
    int rc = 0;

    core_buf_init(&arena, LABEL_ARENA_MAX);
    for (size_t i = 0; i < c->n; i++)
        if ((rc = launcher_itype_labels_render(&c->types[i], &arena, err)) != 0)
            goto done;
    if ((rc = core_buf_steal(&arena, &c->labels, &len)) != 0) {
        rc = core_err_set(err, rc, "instance catalog: out of memory");
        goto done;
    }
    for (size_t i = 0; i < c->n; i++)
        launcher_itype_labels_fix(&c->types[i], c->labels);
done:
    if (rc != 0)
        for (size_t i = 0; i < c->n; i++)
            memset(c->types[i].labels, 0, sizeof c->types[i].labels);
    core_buf_cleanup(&arena);
    return rc;
}

/* ---- whole file ----------------------------------------------------------------------------- */

int launcher_catalog_parse(const char *csv, size_t len, struct launcher_catalog **out,
                           struct core_err *err)
{
    struct launcher_catalog *c = NULL;
    char *cells[NCOLS];
    size_t nlines = 0, line = 0;
    int rc = 0;

    if (!csv || !out) {
        rc = core_err_set(err, CORE_E_INVAL, "instance catalog: NULL argument");
        goto done;
    }
    if (len > LAUNCHER_CATALOG_MAX_BYTES) {
        rc = core_err_set(err, CORE_E_TOOBIG, "instance catalog: %zu bytes exceeds the limit of %zu",
                          len, LAUNCHER_CATALOG_MAX_BYTES);
        goto done;
    }
    /* Lines, counting a last line without a newline; the header is one of them. */
    for (size_t i = 0; i < len; i++)
        if (csv[i] == '\n' || i + 1 == len)
            nlines++;
    if (nlines == 0) {
        rc = core_err_set(err, CORE_E_PARSE, "instance catalog line 1: empty, expected a header");
        goto done;
    }
    if (nlines - 1 > LAUNCHER_CATALOG_MAX_ROWS) {
        rc = core_err_set(err, CORE_E_TOOBIG, "instance catalog: %zu rows exceed the limit of %zu",
                          nlines - 1, LAUNCHER_CATALOG_MAX_ROWS);
        goto done;
    }

    c = core_calloc(1, sizeof *c);
    if (!c) {
        rc = core_err_set(err, CORE_E_NOMEM, "instance catalog: out of memory");
        goto done;
    }
    c->text = core_malloc(len + 1);
    c->types = nlines > 1 ? core_calloc(nlines - 1, sizeof *c->types) : NULL;
    c->by_name = core_map_new();
    if (!c->text || (nlines > 1 && !c->types) || !c->by_name) {
        rc = core_err_set(err, CORE_E_NOMEM, "instance catalog: out of memory");
        goto done;
    }
    memcpy(c->text, csv, len);
    c->text[len] = '\0';

    for (size_t off = 0; off < len;) {
        char *s = c->text + off;
        char *nl = memchr(s, '\n', len - off);
        size_t ll = nl ? (size_t)(nl - s) : len - off;
        off += ll + (nl ? 1 : 0);
        line++;
        if (ll > 0 && s[ll - 1] == '\r')
            ll--;
        if (memchr(s, '\0', ll)) {
            rc = core_err_set(err, CORE_E_PARSE, "instance catalog line %zu: contains a NUL byte",
                              line);
            goto done;
        }
        if (ll == 0) {
            rc = core_err_set(err, CORE_E_PARSE, "instance catalog line %zu column 1: blank line",
                              line);
            goto done;
        }
        if ((rc = split_line(s, ll, line, cells, err)) != 0)
            goto done;
        if (line == 1) {
            if ((rc = check_header(cells, err)) != 0)
                goto done;
            continue;
        }
        struct launcher_itype *t = &c->types[c->n];
        if ((rc = parse_row(cells, line, t, err)) != 0)
            goto done;
        if (core_map_get(c->by_name, t->name, NULL)) {
            rc = core_err_set(err, CORE_E_PARSE,
                              "instance catalog line %zu column 1 (instance_type): duplicate "
                              "\"%.40s\"", line, t->name);
            goto done;
        }
        if (core_map_set(c->by_name, t->name, t, NULL) != 0) {
            rc = core_err_set(err, CORE_E_NOMEM, "instance catalog: out of memory");
            goto done;
        }
        t->index = c->n;
        t->spot_supported = true; /* the compiled-in data does not say; see launcher.h */
        t->hibernation = -1;
        c->n++;
    }
    if ((rc = render_labels(c, err)) != 0)
        goto done;
    *out = c;
    c = NULL;
done:
    launcher_catalog_free(c);
    return rc;
}

int launcher_catalog_load(struct launcher_catalog **out, struct core_err *err)
{
    int rc = launcher_catalog_parse((const char *)launcher_catalog_csv, launcher_catalog_csv_len,
                                    out, err);
    if (rc != 0)
        core_err_prefix(err, "embedded data");
    return rc;
}

/* ---- from DescribeInstanceTypes ------------------------------------------------------------ */

/* An exactly sized block of strings filled in two passes: the first (base == NULL) only
 * measures, the second copies; both run the same code so the sizes cannot disagree. */
struct pool {
    char *base;
    size_t used;
};

static const char *pool_put(struct pool *p, const char *s, size_t n, int lower)
{
    char *d;
    if (!p->base) {
        p->used += n + 1;
        return "";
    }
    d = p->base + p->used;
    for (size_t i = 0; i < n; i++)
        d[i] = lower && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    d[n] = '\0';
    p->used += n + 1;
    return d;
}

static const char *pool_str(struct pool *p, const char *s, int lower)
{
    if (!s || !*s)
        return ""; /* a static literal: nothing to own */
    return pool_put(p, s, strlen(s), lower);
}

static int strings_has(const struct aws_ec2_strings *s, const char *v)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->v[i] && strcmp(s->v[i], v) == 0)
            return 1;
    return 0;
}

/* Whether e describes a type we can offer; sets the architecture names. */
static int ec2_usable(const struct aws_ec2_instance_type *e, const char **arch,
                      const char **ec2_arch)
{
    if (!e->instance_type || !*e->instance_type || e->vcpus <= 0 || e->vcpus > INT32_MAX ||
        e->memory_mib <= 0 || e->memory_mib > (INT64_C(1) << 32))
        return 0;
    /* A type supporting both (none today) is launched as x86_64, the larger AMI family. */
    if (strings_has(&e->architectures, "x86_64")) {
        *arch = "amd64";
        *ec2_arch = "x86_64";
        return 1;
    }
    if (strings_has(&e->architectures, "arm64")) {
        *arch = "arm64";
        *ec2_arch = "arm64";
        return 1;
    }
    return 0;
}

static int32_t clamp_i32(int64_t v)
{
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

static int64_t clamp_nonneg(int64_t v, int64_t max)
{
    return v < 0 ? 0 : v > max ? max : v;
}

/* Fills t from e (and base's row b, may be NULL) with strings from p. */
static void ec2_fill(struct launcher_itype *t, const struct aws_ec2_instance_type *e,
                     const struct launcher_itype *b, const char *arch, const char *ec2_arch,
                     struct pool *p)
{
    const char *name = e->instance_type, *dot = strchr(name, '.');
    size_t flen = dot ? (size_t)(dot - name) : strlen(name), clen = 0;
    int64_t gen = 0;

    memset(t, 0, sizeof *t);
    t->name = pool_str(p, name, 0);
    t->family = pool_put(p, name, flen, 0);
    while (clen < flen && ((name[clen] >= 'a' && name[clen] <= 'z') ||
                           (name[clen] >= 'A' && name[clen] <= 'Z')))
        clen++;
    t->category = pool_put(p, name, clen, 0);
    /* The generation is the first digit run after the category ("u-6tb1" gives 6). */
    for (size_t i = clen; i < flen; i++) {
        if (name[i] < '0' || name[i] > '9')
            continue;
        for (; i < flen && name[i] >= '0' && name[i] <= '9' && gen <= 1000; i++)
            gen = gen * 10 + (name[i] - '0');
        break;
    }
    t->generation = gen > 1000 ? 0 : (int)gen;
    t->size = dot ? pool_str(p, dot + 1, 0) : "";
    t->arch = arch;
    t->ec2_arch = ec2_arch;
    t->os = "linux";
    t->vcpu = (int32_t)e->vcpus;
    t->memory_mib = e->memory_mib;
    t->bare_metal = e->bare_metal != 0;
    t->local_nvme_gib = clamp_nonneg(e->instance_storage_gb, INT64_C(1) << 40);
    t->spot_supported = strings_has(&e->usage_classes, "spot");
    t->hibernation = e->hibernation_supported ? 1 : 0;

    for (size_t i = 0; i < e->ngpus; i++)
        t->gpu_count = clamp_i32((int64_t)t->gpu_count + clamp_i32(e->gpus[i].count));
    if (t->gpu_count > 0 && e->ngpus > 0) {
        t->gpu_name = pool_str(p, e->gpus[0].name, 1);
        t->gpu_manufacturer = pool_str(p, e->gpus[0].manufacturer, 1);
        t->gpu_memory_mib = e->gpus[0].memory_mib > 0
                                ? clamp_nonneg(e->gpus[0].memory_mib, INT64_C(1) << 40)
                                : clamp_nonneg(e->gpu_memory_mib, INT64_C(1) << 40) /
                                      t->gpu_count;
    } else {
        t->gpu_count = 0;
        t->gpu_name = t->gpu_manufacturer = "";
    }
    /* Neuron devices (Inferentia 2, Trainium) supersede the older inference accelerators. */
    const struct aws_ec2_accelerator *acc = e->nneuron > 0 ? e->neuron : e->inference;
    size_t nacc = e->nneuron > 0 ? e->nneuron : e->ninference;
    for (size_t i = 0; i < nacc; i++)
        t->accelerator_count = clamp_i32((int64_t)t->accelerator_count + clamp_i32(acc[i].count));
    t->accelerator_name = t->accelerator_count > 0 ? pool_str(p, acc[0].name, 1) : "";

    if (b) {
        t->cpu_manufacturer = pool_str(p, b->cpu_manufacturer, 0);
        t->hypervisor = pool_str(p, b->hypervisor, 0);
        t->network_bandwidth_mbps = b->network_bandwidth_mbps;
        t->ebs_bandwidth_mbps = b->ebs_bandwidth_mbps;
        t->enis = b->enis;
        t->ipv4_per_eni = b->ipv4_per_eni;
        t->branch_enis = b->branch_enis;
        t->alloc_cpu_milli = b->alloc_cpu_milli;
        t->alloc_memory_bytes = b->alloc_memory_bytes;
        t->alloc_pods = b->alloc_pods;
        t->alloc_ephemeral_bytes = b->alloc_ephemeral_bytes;
        t->od_price_usd_hr = b->od_price_usd_hr;
    } else {
        t->cpu_manufacturer = "";
        t->hypervisor = pool_str(p, e->hypervisor, 0);
        t->ebs_bandwidth_mbps = clamp_nonneg(e->ebs_max_bandwidth_mbps, INT64_C(1) << 40);
    }
    if (t->enis == 0)
        t->enis = clamp_i32(e->max_network_interfaces);
    if (t->ipv4_per_eni == 0)
        t->ipv4_per_eni = clamp_i32(e->ipv4_per_interface);
    if (t->ebs_bandwidth_mbps == 0)
        t->ebs_bandwidth_mbps = clamp_nonneg(e->ebs_max_bandwidth_mbps, INT64_C(1) << 40);
}

int launcher_catalog_from_ec2(const struct aws_ec2_instance_type *v, size_t n,
                              const struct launcher_catalog *base,
                              struct launcher_catalog **out, struct core_err *err)
{
    struct launcher_catalog *c = NULL;
    struct pool p = {NULL, 0};
    const char *arch = NULL, *ec2_arch = NULL;
    size_t nok = 0;
    int rc = 0;

    if (!out || (!v && n > 0)) {
        rc = core_err_set(err, CORE_E_INVAL, "instance catalog from EC2: NULL argument");
        goto done;
    }
    if (n > LAUNCHER_CATALOG_MAX_ROWS) {
        rc = core_err_set(err, CORE_E_TOOBIG,
                          "instance catalog from EC2: %zu types exceed the limit of %zu", n,
                          LAUNCHER_CATALOG_MAX_ROWS);
        goto done;
    }
    c = core_calloc(1, sizeof *c);
    if (!c || !(c->by_name = core_map_new())) {
        rc = core_err_set(err, CORE_E_NOMEM, "instance catalog from EC2: out of memory");
        goto done;
    }
    /* Pass 1 measures the strings into a scratch entry. */
    for (size_t i = 0; i < n; i++) {
        struct launcher_itype scratch;
        if (!ec2_usable(&v[i], &arch, &ec2_arch))
            continue;
        ec2_fill(&scratch, &v[i], launcher_catalog_find(base, v[i].instance_type), arch,
                 ec2_arch, &p);
        nok++;
    }
    c->text = core_malloc(p.used + 1);
    c->types = nok ? core_calloc(nok, sizeof *c->types) : NULL;
    if (!c->text || (nok && !c->types)) {
        rc = core_err_set(err, CORE_E_NOMEM, "instance catalog from EC2: out of memory");
        goto done;
    }
    p.base = c->text;
    p.used = 0;
    for (size_t i = 0; i < n; i++) {
        struct launcher_itype *t = &c->types[c->n];
        const struct launcher_itype *b;
        if (!ec2_usable(&v[i], &arch, &ec2_arch))
            continue;
        b = launcher_catalog_find(base, v[i].instance_type);
        ec2_fill(t, &v[i], b, arch, ec2_arch, &p);
        /* A repeated name (pages overlapping) keeps the first; its strings stay unused. */
        if (core_map_get(c->by_name, t->name, NULL))
            continue;
        if (!b) {
            struct launcher_alloc a;
            if ((rc = launcher_allocatable(t, NULL, &a)) != 0) {
                rc = core_err_set(err, rc, "instance type %s: allocatable", t->name);
                goto done;
            }
            t->alloc_cpu_milli = a.cpu_milli;
            t->alloc_memory_bytes = a.memory_bytes;
            t->alloc_pods = a.pods;
            t->alloc_ephemeral_bytes = a.ephemeral_bytes;
        }
        if (core_map_set(c->by_name, t->name, t, NULL) != 0) {
            rc = core_err_set(err, CORE_E_NOMEM, "instance catalog from EC2: out of memory");
            goto done;
        }
        t->index = c->n;
        c->n++;
    }
    if ((rc = render_labels(c, err)) != 0)
        goto done;
    *out = c;
    c = NULL;
done:
    launcher_catalog_free(c);
    return rc;
}
