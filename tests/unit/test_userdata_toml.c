/*
 * tests/unit/test_userdata_toml.c — the TOML parser/emitter (userdata/toml.c) and the
 * Bottlerocket renderer and inspector (userdata/bottlerocket.c); suite "userdata_toml".
 *
 * What is checked:
 *  - every TOML 1.0 syntax form parses to the expected values; emit(parse(x)) parses back to
 *    an equal tree; Python's tomllib (python3 >= 3.11, as on Debian) accepts each valid
 *    document and reads the same data from the original and from our emitted text;
 *  - invalid documents are CORE_E_PARSE naming line and column, and tomllib rejects them too;
 *  - the limits (input size, depth, number of values) are CORE_E_TOOBIG;
 *  - the path API (get/set/delete/iterate) and allocation failure at every step;
 *  - Bottlerocket renderings against golden files, each also loaded by tomllib; user settings
 *    kept, node-labels merged, node-taints replaced; refusals (warm phase, RAID0, bad TOML).
 *
 * Golden files are tests/data/userdata/bottlerocket-*.toml, compared byte for byte. After an
 * intended change of the rendering, rewrite them with
 *     STOKER_UPDATE_GOLDEN=1 ./build/default/stoker-tests userdata_toml
 * and review the diff: that diff is what Bottlerocket instances will read.
 */
#include "tests/unit/harness.h"

#include "core/core.h"
#include "userdata/internal.h"
#include "userdata/userdata.h"

#include <dirent.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- helpers ------------------------------------------------------------------------------ */

static struct userdata_toml *parse_ok(const char *text)
{
    struct userdata_toml *t = NULL;
    struct core_err err;
    int rc;
    core_err_clear(&err);
    rc = userdata_toml_parse(text, strlen(text), &t, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\nparse failed: %s\n--\n%s\n--\n", err.message, text);
    return t;
}

static char *emit(const struct userdata_toml *t)
{
    struct core_buf b;
    struct core_err err;
    char *s = NULL;
    core_buf_init(&b, USERDATA_RAW_MAX);
    CU_ASSERT_EQUAL_FATAL(userdata_toml_emit(t, &b, &err), 0);
    CU_ASSERT_EQUAL_FATAL(core_buf_steal(&b, &s, NULL), 0);
    return s;
}

/* Python runs are batched: documents are written into one scratch directory and a single
 * python3 run checks them all (each start of python3 costs a noticeable fraction of a second
 * behind a version-manager shim). */
struct pydir {
    char path[64];
    int n;
};

static void pydir_open(struct pydir *d)
{
    snprintf(d->path, sizeof d->path, "/tmp/stoker-toml-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(d->path));
    d->n = 0;
}

static void pydir_put(struct pydir *d, int idx, const char *suffix, const char *text, size_t len)
{
    char path[128];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%03d.%s", d->path, idx, suffix);
    fp = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    CU_ASSERT(fwrite(text, 1, len, fp) == len);
    CU_ASSERT(fclose(fp) == 0);
    d->n++;
}

/* Runs python3 -c script args...; returns its exit status (-1 when it could not run). */
static int run_python(const char *script, const char *a1, const char *a2)
{
    char *argv[6];
    pid_t pid;
    int st = 0;
    argv[0] = (char *)"python3";
    argv[1] = (char *)"-c";
    argv[2] = (char *)script;
    argv[3] = (char *)a1;
    argv[4] = (char *)a2;
    argv[5] = NULL;
    if (posix_spawnp(&pid, "python3", NULL, NULL, argv, environ) != 0)
        return -1;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* For every NNN.orig in the directory: tomllib loads it and NNN.emit and finds the same data
 * (table order ignored, NaN equal to NaN). */
#define PY_SAME                                                                                \
    "import tomllib,sys,math,os\n"                                                             \
    "def n(x):\n"                                                                              \
    "  if isinstance(x,dict): return ('d',sorted((k,n(v)) for k,v in x.items()))\n"            \
    "  if isinstance(x,list): return ('l',[n(v) for v in x])\n"                                \
    "  if isinstance(x,float) and math.isnan(x): return ('nan',)\n"                            \
    "  return (type(x).__name__,repr(x))\n"                                                    \
    "d=sys.argv[1]; bad=0\n"                                                                   \
    "for f in sorted(os.listdir(d)):\n"                                                        \
    "  if not f.endswith('.orig'): continue\n"                                                 \
    "  a=tomllib.load(open(os.path.join(d,f),'rb'))\n"                                         \
    "  b=tomllib.load(open(os.path.join(d,f[:-5]+'.emit'),'rb'))\n"                            \
    "  if n(a)!=n(b): print('tomllib disagrees:',f); bad=1\n"                                  \
    "sys.exit(3 if bad else 0)\n"
/* Every file in the directory is rejected by tomllib (or is not UTF-8). */
#define PY_REJECT                                                                              \
    "import tomllib,sys,os\n"                                                                  \
    "d=sys.argv[1]; bad=0\n"                                                                   \
    "for f in sorted(os.listdir(d)):\n"                                                        \
    "  try:\n    tomllib.load(open(os.path.join(d,f),'rb'))\n"                                 \
    "  except (tomllib.TOMLDecodeError, UnicodeDecodeError):\n    continue\n"                  \
    "  print('tomllib accepts', f); bad=1\n"                                                   \
    "sys.exit(4 if bad else 0)\n"
#define PY_LOAD "import tomllib,sys; tomllib.load(open(sys.argv[1],'rb'))"

static int python_ok(void)
{
    static int cached = -2;
    if (cached == -2)
        cached = run_python("import tomllib", NULL, NULL) == 0;
    return cached;
}

/* Runs script over the directory (when python3 with tomllib is there), then removes it. */
static void pydir_check(struct pydir *d, const char *script)
{
    DIR *dir;
    struct dirent *e;
    if (python_ok())
        CU_ASSERT_EQUAL(run_python(script, d->path, NULL), 0);
    dir = opendir(d->path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    while ((e = readdir(dir)) != NULL) {
        char path[400];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", d->path, e->d_name);
        unlink(path);
    }
    closedir(dir);
    rmdir(d->path);
}

/* parse, emit, re-parse, compare; the pair goes into d for tomllib to compare. */
static void roundtrip(struct pydir *d, int idx, const char *text)
{
    struct userdata_toml *a = parse_ok(text), *b = NULL;
    char *out;
    if (!a)
        return;
    out = emit(a);
    b = parse_ok(out);
    CU_ASSERT_PTR_NOT_NULL(b);
    if (b) {
        CU_ASSERT(userdata_toml_equal(userdata_toml_root(a), userdata_toml_root(b)));
        /* The emitter is canonical: emitting again gives the same bytes. */
        char *again = emit(b);
        CU_ASSERT_STRING_EQUAL(again, out);
        core_free(again);
    }
    pydir_put(d, idx, "orig", text, strlen(text));
    pydir_put(d, idx, "emit", out, strlen(out));
    core_free(out);
    userdata_toml_free(a);
    userdata_toml_free(b);
}

static const struct userdata_toml_value *at(const struct userdata_toml *t, const char *path)
{
    return userdata_toml_get(userdata_toml_root((struct userdata_toml *)t), path);
}

static void assert_str(const struct userdata_toml *t, const char *path, const char *want,
                       size_t wantlen)
{
    const struct userdata_toml_value *v = at(t, path);
    size_t len = 0;
    const char *s;
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(userdata_toml_type(v), USERDATA_TOML_STRING);
    s = userdata_toml_str(v, &len);
    CU_ASSERT_EQUAL(len, wantlen);
    CU_ASSERT(s && memcmp(s, want, wantlen) == 0);
    if (len != wantlen || memcmp(s, want, wantlen) != 0)
        fprintf(stderr, "\n%s: got [%.*s]\n", path, (int)len, s);
}
#define ASSERT_STR(t, path, lit) assert_str((t), (path), (lit), sizeof(lit) - 1)

static void assert_int(const struct userdata_toml *t, const char *path, int64_t want)
{
    const struct userdata_toml_value *v = at(t, path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(userdata_toml_type(v), USERDATA_TOML_INTEGER);
    CU_ASSERT_EQUAL(userdata_toml_int(v), want);
}

static void assert_text(const struct userdata_toml *t, const char *path,
                        enum userdata_toml_type type, const char *want)
{
    const struct userdata_toml_value *v = at(t, path);
    size_t len = 0;
    const char *s;
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(userdata_toml_type(v), type);
    s = userdata_toml_str(v, &len);
    CU_ASSERT(s && len == strlen(want) && memcmp(s, want, len) == 0);
}

/* ---- valid documents ---------------------------------------------------------------------- */

static const char DOC_ALL[] =
    "# a comment\r\n"
    "title = \"TOML \\\"all\\\"\" # trailing comment\n"
    "bare_key-1 = 1\n"
    "\"quoted key\" = 'literal \\n kept'\n"
    "'lit.key' = true\n"
    "\"\" = \"empty key\"\n"
    "a . b . c = false\n"
    "esc = \"\\b\\t\\n\\f\\r\\\"\\\\ \\u00e9 \\U0001F600 \\u0000!\"\n"
    "ml = \"\"\"\nline1\n  line2 \\\n     joined\\\n\n   end\"\"\"\n"
    "ml_quotes = \"\"\"two \"\" quotes and end \"\"\"\"\"\n"
    "ml_lit = '''\r\nraw \\ text\r\nsecond'''\n"
    "ml_lit_q = '''it's'''''\n"
    "utf8 = \"héllo wörld ✓\"\n"
    "ints = [ 0, +17, -17, 1_000_000, 0xDEAD_beef, 0o755, 0b1101_0101, "
    "9223372036854775807, -9223372036854775808 ]\n"
    "floats = [ 1.5, -0.01, 5e+22, 1E6, -2E-2, 6.626e-34, 224_617.445_991, -0.0, +1.0, 1e0_1 ]\n"
    "specials = [ inf, +inf, -inf, nan, +nan, -nan ]\n"
    "odt1 = 1979-05-27T07:32:00Z\n"
    "odt2 = 1979-05-27T00:32:00.999999-07:00\n"
    "odt3 = 1979-05-27 07:32:00+01:30\n"
    "ldt = 1979-05-27T07:32:00.5\n"
    "ld = 2024-02-29\n"
    "lt = 00:32:00.999999\n"
    "mixed = [ 1, \"two\", 3.0, [4, [5]], { six = 6 }, ]\n"
    "multiline_arr = [\n  1, # one\n  2,\n\n  # comment only\n  3\n]\n"
    "inline = { x = 1, y.z = \"dotted\", \"q k\" = [] }\n"
    "empty_inline = {}\n"
    "\n"
    "[table]\n"
    "key = \"value\"\n"
    "[ table . sub ]\n"
    "k = 1\n"
    "[x.y.z.w] # implicit x, x.y, x.y.z\n"
    "v = 2\n"
    "[x]\n"
    "defined_later = true\n"
    "[fruit]\n"
    "apple.color = \"red\"\n"
    "apple.taste.sweet = true\n"
    "[fruit.apple.texture]\n"
    "smooth = true\n"
    "\n"
    "[[products]]\n"
    "name = \"Hammer\"\n"
    "sku = 738594937\n"
    "[[products]]  # empty element\n"
    "[[products]]\n"
    "name = \"Nail\"\n"
    "[products.dims]\n"
    "len = 3\n"
    "[[products.parts]]\n"
    "p = 1\n"
    "[[products.parts]]\n"
    "p = 2\n";

static void test_valid_all_forms(void)
{
    struct userdata_toml *t = parse_ok(DOC_ALL);
    const struct userdata_toml_value *v;
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    ASSERT_STR(t, "title", "TOML \"all\"");
    assert_int(t, "bare_key-1", 1);
    ASSERT_STR(t, "\"quoted key\"", "literal \\n kept");
    CU_ASSERT_EQUAL(userdata_toml_bool(at(t, "'lit.key'")), 1);
    ASSERT_STR(t, "\"\"", "empty key");
    v = at(t, "a.b.c");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(userdata_toml_type(v), USERDATA_TOML_BOOL);
    CU_ASSERT_EQUAL(userdata_toml_bool(v), 0);
    ASSERT_STR(t, "esc", "\b\t\n\f\r\"\\ \xc3\xa9 \xf0\x9f\x98\x80 \0!");
    ASSERT_STR(t, "ml", "line1\n  line2 joinedend");
    ASSERT_STR(t, "ml_quotes", "two \"\" quotes and end \"\"");
    ASSERT_STR(t, "ml_lit", "raw \\ text\nsecond");
    ASSERT_STR(t, "ml_lit_q", "it's''");
    ASSERT_STR(t, "utf8", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93");

    v = at(t, "ints");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_len(v), 9);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 0)), 0);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 1)), 17);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 2)), -17);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 3)), 1000000);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 4)), 0xdeadbeef);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 5)), 0755);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 6)), 0xd5);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 7)), INT64_MAX);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(v, 8)), INT64_MIN);

    v = at(t, "floats");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_len(v), 10);
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 0)) == 1.5);
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 1)) == -0.01);
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 2)) == 5e22);
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 3)) == 1e6);
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 4)) == -2e-2);
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 5)) == 6.626e-34);
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 6)) == 224617.445991);
    CU_ASSERT(signbit(userdata_toml_float(userdata_toml_at(v, 7))));
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 8)) == 1.0);
    CU_ASSERT(userdata_toml_float(userdata_toml_at(v, 9)) == 1e1);
    v = at(t, "specials");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_len(v), 6);
    CU_ASSERT(isinf(userdata_toml_float(userdata_toml_at(v, 0))) &&
              userdata_toml_float(userdata_toml_at(v, 1)) > 0);
    CU_ASSERT(isinf(userdata_toml_float(userdata_toml_at(v, 2))) &&
              userdata_toml_float(userdata_toml_at(v, 2)) < 0);
    CU_ASSERT(isnan(userdata_toml_float(userdata_toml_at(v, 3))));
    CU_ASSERT(isnan(userdata_toml_float(userdata_toml_at(v, 5))));

    assert_text(t, "odt1", USERDATA_TOML_DATETIME, "1979-05-27T07:32:00Z");
    assert_text(t, "odt2", USERDATA_TOML_DATETIME, "1979-05-27T00:32:00.999999-07:00");
    assert_text(t, "odt3", USERDATA_TOML_DATETIME, "1979-05-27 07:32:00+01:30");
    assert_text(t, "ldt", USERDATA_TOML_DATETIME_LOCAL, "1979-05-27T07:32:00.5");
    assert_text(t, "ld", USERDATA_TOML_DATE_LOCAL, "2024-02-29");
    assert_text(t, "lt", USERDATA_TOML_TIME_LOCAL, "00:32:00.999999");

    v = at(t, "mixed");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_len(v), 5);
    CU_ASSERT_EQUAL(userdata_toml_type(userdata_toml_at(v, 1)), USERDATA_TOML_STRING);
    CU_ASSERT_EQUAL(userdata_toml_type(userdata_toml_at(v, 2)), USERDATA_TOML_FLOAT);
    CU_ASSERT_EQUAL(userdata_toml_len(userdata_toml_at(v, 3)), 2);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_get(userdata_toml_at(v, 4), "six")), 6);
    CU_ASSERT_EQUAL(userdata_toml_len(at(t, "multiline_arr")), 3);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(at(t, "multiline_arr"), 2)), 3);
    assert_int(t, "inline.x", 1);
    ASSERT_STR(t, "inline.y.z", "dotted");
    CU_ASSERT_EQUAL(userdata_toml_len(at(t, "inline.\"q k\"")), 0);
    CU_ASSERT_EQUAL(userdata_toml_type(at(t, "empty_inline")), USERDATA_TOML_TABLE);

    ASSERT_STR(t, "table.key", "value");
    assert_int(t, "table.sub.k", 1);
    assert_int(t, "x.y.z.w.v", 2);
    CU_ASSERT_EQUAL(userdata_toml_bool(at(t, "x.defined_later")), 1);
    ASSERT_STR(t, "fruit.apple.color", "red");
    CU_ASSERT_EQUAL(userdata_toml_bool(at(t, "fruit.apple.taste.sweet")), 1);
    CU_ASSERT_EQUAL(userdata_toml_bool(at(t, "fruit.apple.texture.smooth")), 1);

    v = at(t, "products");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_type(v), USERDATA_TOML_ARRAY);
    CU_ASSERT_EQUAL_FATAL(userdata_toml_len(v), 3);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_get(userdata_toml_at(v, 0), "sku")),
                    738594937);
    CU_ASSERT_EQUAL(userdata_toml_len(userdata_toml_at(v, 1)), 0);
    CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_get(userdata_toml_at(v, 2), "dims.len")), 3);
    CU_ASSERT_EQUAL(userdata_toml_len(userdata_toml_get(userdata_toml_at(v, 2), "parts")), 2);

    /* Insertion order of the root's keys. */
    {
        size_t kl = 0;
        CU_ASSERT_STRING_EQUAL(userdata_toml_key_at(at(t, "table"), 0, &kl, NULL), "key");
        CU_ASSERT_STRING_EQUAL(userdata_toml_key_at(userdata_toml_root(t), 0, &kl, NULL),
                               "title");
        CU_ASSERT_STRING_EQUAL(userdata_toml_key_at(userdata_toml_root(t), 1, &kl, NULL),
                               "bare_key-1");
        CU_ASSERT_EQUAL(kl, 10);
    }
    userdata_toml_free(t);
}

static const char *const VALID[] = {
    "",
    "\n\n# only comments\n   \t\n",
    "a = 1",
    "a = 1 # no newline at the end",
    "a=1\nb=\"x\"\r\n",
    "\"a.b\" = 1\na.b = 2\n",
    "[a]\n[a.b]\n[a.c]\nx = 1\n",
    "[a.b.c]\n[a]\nb.d = 1\n",
    "[a]\nb.c = 1\nb.d = 2\n[a.b.e]\nf = 3\n",
    "a = [[1, 2], [\"a\", 'b'], [{ c = 1 }, { c = 2 }]]\n",
    "a = [ ]\nb = [\n]\nc = [\n  # c\n]\n",
    "[[a]]\nb = 1\n[[a.c]]\nd = 2\n[a.e]\nf = 3\n[[a]]\n[[a.c]]\n",
    "key = \"\"\"\n\"\"\"\nk2 = ''''''\nk3 = \"\"\nk4 = ''\n",
    "s = \"\"\"\\\n   \\\n  x\"\"\"\n",
    "s = '\\u00e9 is literal'\n",
    "t = 1987-07-05t17:45:00z\nu = 1987-07-05 17:45:00\n",
    "n = [0.0, -0.0, 1e-7, 1.7976931348623157e308, 5e-324, 3.141592653589793, 0.1]\n",
    "n = [-0, +0, 0x0, 0o0, 0b0, 0xff, 0xFF, 0o17]\n",
    "tbl = { a = { b = { c = 1 } }, d = [ { e = 'f' } ] }\n",
    "\"\\u0041\\t\" = 1\n'\"' = 2\n\"\\\\\" = 3\n",
    "x = \"control \\u001f \\u007f ok\"\n",
    "[\"dotted.table\".\"with space\"]\nk = 1\n",
    "a.b.c = 1\na.d = 2\n[z]\n",
    "arr = [1,2,3,]\n",
    "[[x]]\n[[x]]\n[[x]]\n",
    "big = 1e400\nsmall = -1e400\n",
    "date_only = 2000-12-31\ntime_only = 23:59:59\n",
};

static void test_valid_roundtrip(void)
{
    struct pydir d;
    size_t i;
    pydir_open(&d);
    for (i = 0; i < sizeof VALID / sizeof VALID[0]; i++)
        roundtrip(&d, (int)i, VALID[i]);
    roundtrip(&d, (int)i, DOC_ALL);
    pydir_check(&d, PY_SAME);
    /* The same data through tomllib as what our tree says. */
    {
        struct userdata_toml *t = parse_ok("a = [-0, +0, 0x0, 0o0, 0b0, 0xff]\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_EQUAL(userdata_toml_int(userdata_toml_at(at(t, "a"), 5)), 255);
        userdata_toml_free(t);
    }
}

static void test_emit_canonical(void)
{
    struct userdata_toml *t = parse_ok(
        "f = 100.0\ng = 0.1\nh = 1e300\nq = \"tab\\tquote\\\" nl\\n \\u0001 \\u00e9\"\n"
        "[settings.kubernetes]\n\"node-labels\" = { \"a.b/c\" = \"x\" }\n"
        "api-server = 'https://x'\n"
        "[settings.host-containers.admin]\nenabled = true\n");
    char *out;
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    out = emit(t);
    CU_ASSERT_STRING_EQUAL(out, "f = 100.0\n"
                                "g = 0.1\n"
                                "h = 1e+300\n"
                                "q = \"tab\\tquote\\\" nl\\n \\u0001 \xc3\xa9\"\n"
                                "\n"
                                "[settings.kubernetes]\n"
                                "api-server = \"https://x\"\n"
                                "\n"
                                "[settings.kubernetes.node-labels]\n"
                                "\"a.b/c\" = \"x\"\n"
                                "\n"
                                "[settings.host-containers.admin]\n"
                                "enabled = true\n");
    core_free(out);
    userdata_toml_free(t);
}

/* ---- invalid documents -------------------------------------------------------------------- */

struct bad {
    const char *text;
    int line, col;
};

static const struct bad INVALID[] = {
    {"a = 1\na = 2\n", 2, 1},                       /* duplicate key */
    {"a = 1\n\"a\" = 2\n", 2, 1},                   /* same key, quoted */
    {"a.b = 1\na.b = 2\n", 2, 1},
    {"a = 1\na.b = 2\n", 2, 1},                     /* a is not a table */
    {"[a]\n[a]\n", 2, 1},                           /* table defined twice */
    {"[a.b]\n[a]\n[a]\n", 3, 1},
    {"a.b = 1\n[a]\n", 2, 1},                       /* a made by dotted keys */
    {"[a]\nb.c = 1\n[a.b]\n", 3, 1},
    {"[a.b.c]\n[a]\nb.c.d = 1\n", 3, 1},            /* dotted into a header-defined table */
    {"[x]\na.b = 1\n[y]\n[x.a]\n", 4, 1},
    {"a = {}\n[a]\n", 2, 1},                        /* inline tables are closed */
    {"a = { b = 1 }\na.c = 2\n", 2, 1},
    {"a = { b = 1 }\n[a.c]\n", 2, 1},
    {"a = { b = {}, b.c = 1 }\n", 1, 15},
    {"a = { b = 1, b = 2 }\n", 1, 14},
    {"a = [1]\n[[a]]\n", 2, 1},                     /* static array */
    {"[a]\n[[a]]\n", 2, 1},
    {"[[a]]\n[a]\n", 2, 1},
    {"a = { b = 1\n}\n", 1, 5},                     /* newline in an inline table */
    {"a = { b = 1, }\n", 1, 14},                    /* trailing comma */
    {"a = \"\\x41\"\n", 1, 6},                      /* bad escapes */
    {"a = \"\\e\"\n", 1, 6},
    {"a = \"\\uD800\"\n", 1, 6},
    {"a = \"\\U00110000\"\n", 1, 6},
    {"a = \"\\u12\"\n", 1, 6},
    {"a = \"abc\n", 1, 5},                          /* unterminated strings */
    {"a = 'abc\n", 1, 5},
    {"a = \"\"\"abc\n", 1, 5},
    {"a = '''abc''\n", 1, 5},
    {"a = \"\"\"x\"\"\"\"\"\"\n", 1, 14},           /* six quotes */
    {"a = \"tab\tok but bell \x07\"\n", 1, 22},     /* control character */
    {"a = 01\n", 1, 5},                             /* bad numbers */
    {"a = 1__0\n", 1, 5},
    {"a = _1\n", 1, 5},
    {"a = 1_\n", 1, 5},
    {"a = 0x\n", 1, 5},
    {"a = 0XF\n", 1, 5},
    {"a = +0x1\n", 1, 5},
    {"a = 0b102\n", 1, 5},
    {"a = 1.\n", 1, 5},
    {"a = .5\n", 1, 5},
    {"a = 1e\n", 1, 5},
    {"a = 1.5.2\n", 1, 5},
    {"a = 9223372036854775808\n", 1, 5},
    {"a = -9223372036854775809\n", 1, 5},
    {"a = 0x8000000000000000\n", 1, 5},
    {"a = infinity\n", 1, 5},
    {"a = NaN\n", 1, 5},
    {"a = 00.5\n", 1, 5},
    {"a = 1979-02-29\n", 1, 5},                     /* bad dates and times */
    {"a = 1979-13-01\n", 1, 5},
    {"a = 1979-05-27T25:00:00\n", 1, 16},
    {"a = 07:32\n", 1, 5},
    {"a = 1979-05-27T07:32:00+7:00\n", 1, 24},
    {"a = 1979-05-27T07:32:60Z\n", 1, 16},
    {"a = TRUE\n", 1, 5},                           /* other values */
    {"a = truex\n", 1, 5},
    {"a =\n", 1, 4},
    {"a = 1 2\n", 1, 7},
    {"= 1\n", 1, 1},
    {"a b = 1\n", 1, 3},
    {"[a\n", 1, 3},
    {"[[a]\n", 1, 4},
    {"[]\n", 1, 2},
    {"a = [1 2]\n", 1, 8},
    {"a = [1,,2]\n", 1, 8},
    {"a = [\n", 1, 5},
    {"\"\"\"k\"\"\" = 1\n", 1, 1},                 /* multi-line key */
    {"a = 1\rb = 2\n", 1, 6},                       /* bare CR */
    {"# bell \x07\n", 1, 8},                        /* control character in a comment */
    {"a = \"\xc3\x28\"\n", 1, 6},                   /* invalid UTF-8 */
    {"a = \"\xed\xa0\x80\"\n", 1, 6},               /* encoded surrogate */
    {"\xef\xbb\xbf" "a = 1\n", 1, 1},               /* BOM */
    {"k\xc3\xa9 = 1\n", 1, 2},                      /* non-ASCII bare key */
};

static void test_invalid(void)
{
    struct pydir d;
    size_t i;
    pydir_open(&d);
    for (i = 0; i < sizeof INVALID / sizeof INVALID[0]; i++) {
        const struct bad *b = &INVALID[i];
        struct userdata_toml *t = NULL;
        struct core_err err;
        char want[64];
        int rc;
        core_err_clear(&err);
        rc = userdata_toml_parse(b->text, strlen(b->text), &t, &err);
        CU_ASSERT_EQUAL(rc, CORE_E_PARSE);
        CU_ASSERT_EQUAL(err.code, CORE_E_PARSE);
        CU_ASSERT_PTR_NULL(t);
        snprintf(want, sizeof want, "spec.userData: TOML line %d column %d: ", b->line, b->col);
        CU_ASSERT(strncmp(err.message, want, strlen(want)) == 0);
        if (rc != CORE_E_PARSE || strncmp(err.message, want, strlen(want)) != 0)
            fprintf(stderr, "\ninvalid[%zu] rc=%d: %s (want %s)\n", i, rc, err.message, want);
        userdata_toml_free(t);
        /* tomllib has unbounded integers; TOML 1.0 wants an error for what int64 can't hold */
        if (!strstr(b->text, "922337203685477580") && !strstr(b->text, "0x8000"))
            pydir_put(&d, (int)i, "bad", b->text, strlen(b->text));
    }
    pydir_check(&d, PY_REJECT);
}

/* ---- limits ------------------------------------------------------------------------------- */

static void expect_rc(const char *text, size_t len, int want)
{
    struct userdata_toml *t = NULL;
    struct core_err err;
    int rc = userdata_toml_parse(text, len, &t, &err);
    CU_ASSERT_EQUAL(rc, want);
    if (rc != want)
        fprintf(stderr, "\nrc %d (%s), want %d\n", rc, rc ? err.message : "", want);
    if (rc == 0)
        userdata_toml_free(t);
}

static void test_limits(void)
{
    struct core_buf b;
    size_t i;

    /* Depth (the root is 0): 64 nested arrays under a root key are fine, 65 too many. */
    core_buf_init(&b, USERDATA_TOML_MAX_INPUT);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "a = ") == 0);
    for (i = 0; i < 64; i++)
        CU_ASSERT_FATAL(core_buf_append_char(&b, '[') == 0);
    for (i = 0; i < 64; i++)
        CU_ASSERT_FATAL(core_buf_append_char(&b, ']') == 0);
    expect_rc(b.data, b.len, 0);
    core_buf_reset(&b);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "a = ") == 0);
    for (i = 0; i < 65; i++)
        CU_ASSERT_FATAL(core_buf_append_char(&b, '[') == 0);
    for (i = 0; i < 65; i++)
        CU_ASSERT_FATAL(core_buf_append_char(&b, ']') == 0);
    expect_rc(b.data, b.len, CORE_E_TOOBIG);

    /* Depth through dotted keys and headers. */
    core_buf_reset(&b);
    CU_ASSERT_FATAL(core_buf_append_char(&b, '[') == 0);
    for (i = 0; i < 65; i++)
        CU_ASSERT_FATAL(core_buf_appendf(&b, "%sk", i ? "." : "") == 0);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "]\n") == 0);
    expect_rc(b.data, b.len, CORE_E_TOOBIG);

    /* Number of values. */
    core_buf_reset(&b);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "a = [") == 0);
    for (i = 0; i < USERDATA_TOML_MAX_VALUES; i++)
        CU_ASSERT_FATAL(core_buf_append_str(&b, "1,") == 0);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "]\n") == 0);
    expect_rc(b.data, b.len, CORE_E_TOOBIG);
    /* ... one below the limit (root + array + items) parses. */
    core_buf_reset(&b);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "a = [") == 0);
    for (i = 0; i + 2 < USERDATA_TOML_MAX_VALUES; i++)
        CU_ASSERT_FATAL(core_buf_append_str(&b, "1,") == 0);
    CU_ASSERT_FATAL(core_buf_append_str(&b, "]\n") == 0);
    expect_rc(b.data, b.len, 0);
    core_buf_cleanup(&b);

    /* Input size. */
    {
        size_t n = USERDATA_TOML_MAX_INPUT + 1;
        char *big = core_malloc(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(big);
        memset(big, '\n', n);
        expect_rc(big, n, CORE_E_TOOBIG);
        expect_rc(big, n - 1, 0);
        core_free(big);
    }

    /* Many keys in one table: the hash index stays consistent across growth and delete. */
    {
        struct userdata_toml *t = NULL;
        struct core_err err;
        char key[32];
        CU_ASSERT_EQUAL_FATAL(userdata_toml_new(&t, &err), 0);
        for (i = 0; i < 2000; i++) {
            snprintf(key, sizeof key, "k%zu", i);
            CU_ASSERT_EQUAL_FATAL(userdata_toml_set_int(userdata_toml_root(t), key,
                                                        (int64_t)i, &err), 0);
        }
        for (i = 0; i < 2000; i += 2) {
            snprintf(key, sizeof key, "k%zu", i);
            CU_ASSERT_EQUAL(userdata_toml_delete(userdata_toml_root(t), key), 1);
        }
        CU_ASSERT_EQUAL(userdata_toml_len(userdata_toml_root(t)), 1000);
        for (i = 0; i < 2000; i++) {
            snprintf(key, sizeof key, "k%zu", i);
            if (i % 2)
                assert_int(t, key, (int64_t)i);
            else
                CU_ASSERT_PTR_NULL(at(t, key));
        }
        userdata_toml_free(t);
    }
}

/* ---- API ---------------------------------------------------------------------------------- */

static void test_api(void)
{
    struct userdata_toml *t = parse_ok("x = 1\n[s]\nkeep = 'k'\nlist = [1]\n");
    struct userdata_toml_value *root, *tbl = NULL, *v;
    struct core_err err;
    const char *strs[] = {"a", "b\"c"};
    char *out;

    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    root = userdata_toml_root(t);
    CU_ASSERT_EQUAL(userdata_toml_set_string(root, "s.\"new.key\"", "v", &err), 0);
    CU_ASSERT_EQUAL(userdata_toml_set_int(root, "s.n.deep", -5, &err), 0);
    CU_ASSERT_EQUAL(userdata_toml_set_bool(root, "s.b", 1, &err), 0);
    CU_ASSERT_EQUAL(userdata_toml_set_strings(root, "s.keep", strs, 2, &err), 0); /* replaces */
    CU_ASSERT_EQUAL(userdata_toml_set_table(root, "s.list", &tbl, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tbl);
    CU_ASSERT_EQUAL(userdata_toml_set_string(tbl, "inner", "i", &err), 0);
    CU_ASSERT_EQUAL(userdata_toml_ensure_table(root, "s", &v, &err), 0);
    CU_ASSERT_PTR_EQUAL(v, at(t, "s"));
    /* Intermediates that are not tables, paths that are not keys. */
    CU_ASSERT_EQUAL(userdata_toml_set_int(root, "x.y", 1, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(userdata_toml_ensure_table(root, "x", &v, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(userdata_toml_set_int(root, "a..b", 1, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(userdata_toml_set_int(root, "", 1, &err), CORE_E_INVAL);
    CU_ASSERT_PTR_NULL(userdata_toml_get(root, "x.y"));
    CU_ASSERT_PTR_NULL(userdata_toml_get(root, "s.missing"));
    CU_ASSERT_PTR_NULL(userdata_toml_get(root, "not a key"));

    /* Keys keep their place when replaced; new keys go last. */
    {
        static const char *const want[] = {"keep", "list", "new.key", "n", "b"};
        size_t i, kl;
        CU_ASSERT_EQUAL_FATAL(userdata_toml_len(at(t, "s")), 5);
        for (i = 0; i < 5; i++)
            CU_ASSERT_STRING_EQUAL(userdata_toml_key_at(at(t, "s"), i, &kl, NULL), want[i]);
        CU_ASSERT_PTR_NULL(userdata_toml_key_at(at(t, "s"), 5, &kl, NULL));
    }
    CU_ASSERT_EQUAL(userdata_toml_delete(root, "s.b"), 1);
    CU_ASSERT_EQUAL(userdata_toml_delete(root, "s.b"), 0);
    CU_ASSERT_EQUAL(userdata_toml_delete(root, "x.y"), 0);
    out = emit(t);
    CU_ASSERT_STRING_EQUAL(out, "x = 1\n"
                                "\n"
                                "[s]\n"
                                "keep = [\"a\", \"b\\\"c\"]\n"
                                "\"new.key\" = \"v\"\n"
                                "\n"
                                "[s.list]\n"
                                "inner = \"i\"\n"
                                "\n"
                                "[s.n]\n"
                                "deep = -5\n");
    core_free(out);
    userdata_toml_free(t);

    /* An empty document emits nothing; an emitter over the buffer limit is TOOBIG. */
    CU_ASSERT_EQUAL_FATAL(userdata_toml_new(&t, &err), 0);
    out = emit(t);
    CU_ASSERT_STRING_EQUAL(out, "");
    core_free(out);
    CU_ASSERT_EQUAL(userdata_toml_set_string(userdata_toml_root(t), "k", "0123456789", &err), 0);
    {
        struct core_buf b;
        core_buf_init(&b, 8);
        CU_ASSERT_EQUAL(userdata_toml_emit(t, &b, &err), CORE_E_TOOBIG);
        CU_ASSERT_EQUAL(b.len, 0);
        core_buf_cleanup(&b);
    }
    userdata_toml_free(t);
}

static void test_alloc_failures(void)
{
    unsigned long n;
    for (n = 1; n < 100000; n++) {
        struct userdata_toml *t = NULL;
        struct core_buf b;
        struct core_err err;
        int rc;
        core_alloc_fail_after(n);
        rc = userdata_toml_parse(DOC_ALL, strlen(DOC_ALL), &t, &err);
        if (rc == 0) {
            core_buf_init(&b, USERDATA_RAW_MAX);
            rc = userdata_toml_emit(t, &b, &err);
            core_buf_cleanup(&b);
            userdata_toml_free(t);
        }
        if (core_alloc_failures() == 0) {
            core_alloc_fail_after(0);
            CU_ASSERT_EQUAL(rc, 0);
            break;
        }
        core_alloc_fail_after(0);
        CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
    }
    CU_ASSERT(n > 10);
}

/* ---- Bottlerocket ------------------------------------------------------------------------- */

/* base64 of "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n" */
#define TEST_CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

#define USER_TOML                                                                              \
    "# the user's own settings\n"                                                              \
    "[settings.kernel.sysctl]\n"                                                               \
    "\"net.core.somaxconn\" = \"4096\"\n"                                                      \
    "\n"                                                                                       \
    "[settings.host-containers.admin]\n"                                                       \
    "enabled = true\n"                                                                         \
    "superpowered = true\n"                                                                    \
    "\n"                                                                                       \
    "[settings.kubernetes]\n"                                                                  \
    "cluster-name = 'the-users-own-name'\n"                                                    \
    "max-pods = 3\n"                                                                           \
    "allowed-unsafe-sysctls = [\"net.core.somaxconn\"]\n"                                      \
    "node-labels.team = \"users-team\"\n"                                                      \
    "node-labels.\"user.example.com/keep\" = \"yes\"\n"                                        \
    "node-taints.\"user-taint\" = [\"x:NoSchedule\"]\n"                                        \
    "\n"                                                                                       \
    "[[settings.bootstrap-containers-list]]\n"                                                 \
    "source = \"public.ecr.aws/x/y:1\"\n"

struct brx {
    struct k8s_labels labels;
    struct k8s_taint taints[3];
    struct k8s_taint startup[1];
    struct k8s_kubelet kubelet;
    struct userdata_input in;
};

static void brx_init(struct brx *f)
{
    memset(f, 0, sizeof *f);
    CU_ASSERT_FATAL(k8s_labels_set(&f->labels, "team", "platform") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&f->labels, "karpenter.sh/nodepool", "default") == 0);
    f->taints[0] = (struct k8s_taint){"dedicated", "gpu", K8S_EFFECT_NO_SCHEDULE};
    f->taints[1] = (struct k8s_taint){"example.com/flag", NULL, K8S_EFFECT_PREFER_NO_SCHEDULE};
    f->taints[2] = (struct k8s_taint){"dedicated", "gpu", K8S_EFFECT_NO_EXECUTE};
    f->startup[0] = (struct k8s_taint){"cilium.io/agent-not-ready", "true",
                                       K8S_EFFECT_NO_EXECUTE};
    f->in.family = K8S_AMI_BOTTLEROCKET;
    f->in.phase = USERDATA_JOIN;
    f->in.cluster.name = "test-cluster";
    f->in.cluster.endpoint = "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com";
    f->in.cluster.ca_bundle = TEST_CA;
    f->in.cluster.service_cidr = "10.100.0.0/16";
    f->in.node.max_pods = 58;
    f->in.node.labels = &f->labels;
    f->in.node.taints = f->taints;
    f->in.node.ntaints = 3;
    f->in.node.startup_taints = f->startup;
    f->in.node.nstartup_taints = 1;
}

static void brx_kubelet(struct brx *f)
{
    struct k8s_kubelet *k = &f->kubelet;
    static char dns1[] = "10.0.0.10", dns2[] = "10.0.0.11";
    static char *dns[] = {dns1, dns2};
    static struct k8s_res_qty sys[] = {{(char *)"cpu", 100}, {(char *)"memory", 104857600000}};
    CU_ASSERT_FATAL(k8s_labels_set(&k->eviction_hard, "memory.available", "5%") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&k->eviction_soft, "memory.available", "10%") == 0);
    CU_ASSERT_FATAL(k8s_labels_set(&k->eviction_soft_grace_period, "memory.available", "1m") ==
                    0);
    k->cluster_dns.v = dns;
    k->cluster_dns.n = 2;
    k->system_reserved.v = sys;
    k->system_reserved.n = 2;
    k->max_pods = 110;
    k->has_max_pods = 1;
    f->in.node.max_pods = 110; /* what the launcher computes from the override */
    k->eviction_max_pod_grace_period = 60;
    k->has_eviction_max_pod_grace_period = 1;
    k->image_gc_high = 85;
    k->has_image_gc_high = 1;
    k->image_gc_low = 80;
    k->has_image_gc_low = 1;
    k->cpu_cfs_quota = 0;
    k->has_cpu_cfs_quota = 1;
    f->in.node.kubelet = k;
}

static void brx_cleanup(struct brx *f)
{
    k8s_labels_cleanup(&f->labels);
    k8s_labels_cleanup(&f->kubelet.eviction_hard);
    k8s_labels_cleanup(&f->kubelet.eviction_soft);
    k8s_labels_cleanup(&f->kubelet.eviction_soft_grace_period);
}

static int br_render(const struct userdata_input *in, struct core_buf *b, struct core_err *err)
{
    struct userdata_settings s;
    int rc;
    core_buf_init(b, USERDATA_RAW_MAX);
    core_err_clear(err);
    rc = userdata_settings_build(in, &s, err);
    if (rc)
        return rc;
    rc = userdata_render_bottlerocket(in, &s, b, err);
    userdata_settings_cleanup(&s);
    return rc;
}

static void check_golden(const char *name, const struct core_buf *b)
{
    char rel[128], path[4096];
    size_t len = 0;
    char *want;
    snprintf(rel, sizeof rel, "userdata/%s", name);
    snprintf(path, sizeof path, "%s", tests_data_path(rel));
    if (getenv("STOKER_UPDATE_GOLDEN")) {
        FILE *fp = fopen(path, "wb");
        CU_ASSERT_FATAL(fp != NULL);
        CU_ASSERT(fwrite(b->data, 1, b->len, fp) == b->len);
        CU_ASSERT(fclose(fp) == 0);
    }
    want = tests_read_file(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    CU_ASSERT(len == b->len && memcmp(want, b->data, len) == 0);
    if (len != b->len || memcmp(want, b->data, len) != 0)
        fprintf(stderr, "\ngolden mismatch: %s (STOKER_UPDATE_GOLDEN=1 rewrites)\n--\n%s\n--\n",
                name, b->data);
    free(want);
    if (python_ok())
        CU_ASSERT_EQUAL(run_python(PY_LOAD, path, NULL), 0);
}

static void golden(const char *user, int kubelet, const char *name)
{
    struct brx f;
    struct core_buf b;
    struct core_err err;
    int rc;
    brx_init(&f);
    if (kubelet)
        brx_kubelet(&f);
    f.in.node.user_data = user;
    rc = br_render(&f.in, &b, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "\n%s: %s\n", name, err.message);
    else
        check_golden(name, &b);
    core_buf_cleanup(&b);
    brx_cleanup(&f);
}

static void test_br_golden(void)
{
    golden(NULL, 0, "bottlerocket-none.toml");
    golden("", 0, "bottlerocket-none.toml"); /* empty user data is no user data */
    golden(USER_TOML, 0, "bottlerocket-user.toml");
    golden(USER_TOML, 1, "bottlerocket-kubelet.toml");
}

static void test_br_merge(void)
{
    struct brx f;
    struct core_buf b;
    struct core_err err;
    struct userdata_toml *t;
    const struct userdata_toml_value *v;
    brx_init(&f);
    f.in.node.user_data = USER_TOML;
    CU_ASSERT_EQUAL_FATAL(br_render(&f.in, &b, &err), 0);
    t = parse_ok(b.data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    /* Other settings kept. */
    ASSERT_STR(t, "settings.kernel.sysctl.\"net.core.somaxconn\"", "4096");
    CU_ASSERT_EQUAL(userdata_toml_bool(at(t, "settings.host-containers.admin.superpowered")), 1);
    CU_ASSERT_EQUAL(userdata_toml_len(at(t, "settings.bootstrap-containers-list")), 1);
    CU_ASSERT_EQUAL(userdata_toml_len(at(t, "settings.kubernetes.allowed-unsafe-sysctls")), 1);
    /* Controller's keys overwrite. */
    ASSERT_STR(t, "settings.kubernetes.cluster-name", "test-cluster");
    ASSERT_STR(t, "settings.kubernetes.api-server",
               "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com");
    ASSERT_STR(t, "settings.kubernetes.cluster-certificate", TEST_CA);
    ASSERT_STR(t, "settings.kubernetes.cluster-dns-ip", "10.100.0.10");
    assert_int(t, "settings.kubernetes.max-pods", 58);
    /* Labels merged, controller wins. */
    ASSERT_STR(t, "settings.kubernetes.node-labels.team", "platform");
    ASSERT_STR(t, "settings.kubernetes.node-labels.\"user.example.com/keep\"", "yes");
    ASSERT_STR(t, "settings.kubernetes.node-labels.\"karpenter.sh/nodepool\"", "default");
    /* Taints replaced, grouped by key. */
    CU_ASSERT_PTR_NULL(at(t, "settings.kubernetes.node-taints.user-taint"));
    v = at(t, "settings.kubernetes.node-taints.dedicated");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_len(v), 2);
    CU_ASSERT_STRING_EQUAL(userdata_toml_str(userdata_toml_at(v, 0), NULL), "gpu:NoSchedule");
    CU_ASSERT_STRING_EQUAL(userdata_toml_str(userdata_toml_at(v, 1), NULL), "gpu:NoExecute");
    v = at(t, "settings.kubernetes.node-taints.\"example.com/flag\"");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_len(v), 1);
    CU_ASSERT_STRING_EQUAL(userdata_toml_str(userdata_toml_at(v, 0), NULL), ":PreferNoSchedule");
    v = at(t, "settings.kubernetes.node-taints.\"" USERDATA_STARTUP_TAINT_KEY "\"");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_len(v), 1);
    CU_ASSERT_STRING_EQUAL(userdata_toml_str(userdata_toml_at(v, 0), NULL), ":NoExecute");
    userdata_toml_free(t);

    /* inspect reads the facts back. */
    {
        struct userdata_facts facts;
        size_t i;
        int found_flag = 0;
        CU_ASSERT_EQUAL_FATAL(userdata_bottlerocket_inspect(b.data, b.len, &facts, &err), 0);
        CU_ASSERT_EQUAL(facts.family, K8S_AMI_BOTTLEROCKET);
        CU_ASSERT(facts.joins);
        CU_ASSERT_STRING_EQUAL(facts.cluster_name, "test-cluster");
        CU_ASSERT_STRING_EQUAL(facts.endpoint, "https://ABCDEF.gr7.us-west-2.eks.amazonaws.com");
        CU_ASSERT_STRING_EQUAL(facts.ca_bundle, TEST_CA);
        CU_ASSERT_STRING_EQUAL(facts.cluster_dns, "10.100.0.10");
        CU_ASSERT_EQUAL(facts.max_pods, 58);
        CU_ASSERT_STRING_EQUAL(k8s_labels_get(&facts.labels, "team"), "platform");
        CU_ASSERT_STRING_EQUAL(k8s_labels_get(&facts.labels, "user.example.com/keep"), "yes");
        CU_ASSERT_EQUAL(facts.ntaints, 5);
        for (i = 0; i < facts.ntaints; i++)
            if (strcmp(facts.taints[i].key, "example.com/flag") == 0) {
                found_flag = 1;
                CU_ASSERT_PTR_NULL(facts.taints[i].value);
                CU_ASSERT_EQUAL(facts.taints[i].effect, K8S_EFFECT_PREFER_NO_SCHEDULE);
            }
        CU_ASSERT(found_flag);
        userdata_facts_cleanup(&facts);
    }
    core_buf_cleanup(&b);
    brx_cleanup(&f);
}

static void test_br_kubelet_and_dns(void)
{
    struct brx f;
    struct core_buf b;
    struct core_err err;
    struct userdata_toml *t;
    const struct userdata_toml_value *v;
    brx_init(&f);
    brx_kubelet(&f);
    CU_ASSERT_EQUAL_FATAL(br_render(&f.in, &b, &err), 0);
    t = parse_ok(b.data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    v = at(t, "settings.kubernetes.cluster-dns-ip");
    CU_ASSERT_EQUAL_FATAL(userdata_toml_type(v), USERDATA_TOML_ARRAY);
    CU_ASSERT_EQUAL(userdata_toml_len(v), 2);
    CU_ASSERT_STRING_EQUAL(userdata_toml_str(userdata_toml_at(v, 1), NULL), "10.0.0.11");
    assert_int(t, "settings.kubernetes.max-pods", 110);
    ASSERT_STR(t, "settings.kubernetes.eviction-hard.\"memory.available\"", "5%");
    ASSERT_STR(t, "settings.kubernetes.eviction-soft.\"memory.available\"", "10%");
    ASSERT_STR(t, "settings.kubernetes.eviction-soft-grace-period.\"memory.available\"", "1m");
    assert_int(t, "settings.kubernetes.eviction-max-pod-grace-period", 60);
    assert_int(t, "settings.kubernetes.image-gc-high-threshold-percent", 85);
    assert_int(t, "settings.kubernetes.image-gc-low-threshold-percent", 80);
    v = at(t, "settings.kubernetes.cpu-cfs-quota-enforced");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(userdata_toml_type(v), USERDATA_TOML_BOOL);
    CU_ASSERT_EQUAL(userdata_toml_bool(v), 0);
    CU_ASSERT_EQUAL(userdata_toml_type(at(t, "settings.kubernetes.system-reserved.cpu")),
                    USERDATA_TOML_STRING);
    /* Not computed by the settings without a kubelet value: Bottlerocket's own default. */
    CU_ASSERT_PTR_NULL(at(t, "settings.kubernetes.kube-reserved"));
    userdata_toml_free(t);
    {
        struct userdata_facts facts;
        CU_ASSERT_EQUAL_FATAL(userdata_bottlerocket_inspect(b.data, b.len, &facts, &err), 0);
        CU_ASSERT_STRING_EQUAL(facts.cluster_dns, "10.0.0.10");
        CU_ASSERT_EQUAL(facts.max_pods, 110);
        userdata_facts_cleanup(&facts);
    }
    core_buf_cleanup(&b);
    brx_cleanup(&f);
}

/* User settings written as inline tables and dotted keys (closed in TOML's terms) are still
 * merged: the tree, not the text, is what the controller edits. */
static void test_br_inline_user(void)
{
    struct brx f;
    struct core_buf b;
    struct core_err err;
    struct userdata_toml *t;
    brx_init(&f);
    f.in.node.user_data =
        "settings = { kubernetes = { node-labels = { team = 'u', extra = 'e' }, "
        "cluster-dns-ip = ['1.1.1.1', '2.2.2.2'] }, motd = \"hi\" }\n";
    CU_ASSERT_EQUAL_FATAL(br_render(&f.in, &b, &err), 0);
    t = parse_ok(b.data);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    ASSERT_STR(t, "settings.motd", "hi");
    ASSERT_STR(t, "settings.kubernetes.node-labels.team", "platform");
    ASSERT_STR(t, "settings.kubernetes.node-labels.extra", "e");
    ASSERT_STR(t, "settings.kubernetes.cluster-dns-ip", "10.100.0.10");
    userdata_toml_free(t);
    core_buf_cleanup(&b);

    /* settings itself not a table: refused, not overwritten. */
    f.in.node.user_data = "settings = 5\n";
    CU_ASSERT_EQUAL(br_render(&f.in, &b, &err), CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "spec.userData") != NULL);
    CU_ASSERT_EQUAL(b.len, 0);
    core_buf_cleanup(&b);
    f.in.node.user_data = "[[settings.kubernetes]]\n";
    CU_ASSERT_EQUAL(br_render(&f.in, &b, &err), CORE_E_INVAL);
    core_buf_cleanup(&b);
    brx_cleanup(&f);
}

static void test_br_errors(void)
{
    struct brx f;
    struct core_buf b;
    struct core_err err;
    struct userdata_settings s;
    int rc;

    brx_init(&f);
    /* TOML that does not parse: INVAL naming spec.userData with the position. */
    f.in.node.user_data = "[settings.kubernetes]\nmax-pods = = 3\n";
    rc = br_render(&f.in, &b, &err);
    CU_ASSERT_EQUAL(rc, CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.code, CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "spec.userData: TOML line 2 column 12") != NULL);
    CU_ASSERT_EQUAL(b.len, 0);
    core_buf_cleanup(&b);
    /* Valid TOML whose settings.kubernetes is not a table. */
    f.in.node.user_data = "settings.kubernetes = 'no'\n";
    rc = br_render(&f.in, &b, &err);
    CU_ASSERT_EQUAL(rc, CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "spec.userData") != NULL);
    core_buf_cleanup(&b);
    f.in.node.user_data = "[settings.kubernetes]\nnode-labels = 3\n";
    rc = br_render(&f.in, &b, &err);
    CU_ASSERT_EQUAL(rc, CORE_E_INVAL);
    CU_ASSERT(strstr(err.message, "node-labels") != NULL);
    core_buf_cleanup(&b);

    /* Refusals. */
    f.in.node.user_data = NULL;
    CU_ASSERT_EQUAL_FATAL(userdata_settings_build(&f.in, &s, &err), 0);
    core_buf_init(&b, USERDATA_RAW_MAX);
    f.in.phase = USERDATA_WARM;
    CU_ASSERT_EQUAL(userdata_render_bottlerocket(&f.in, &s, &b, &err), CORE_E_UNSUPPORTED);
    CU_ASSERT(strstr(err.message, "bootstrap container") != NULL);
    f.in.phase = USERDATA_JOIN;
    s.instance_store_raid0 = 1;
    CU_ASSERT_EQUAL(userdata_render_bottlerocket(&f.in, &s, &b, &err), CORE_E_UNSUPPORTED);
    CU_ASSERT_EQUAL(b.len, 0);
    core_buf_cleanup(&b);
    userdata_settings_cleanup(&s);

    /* inspect: not TOML, no join settings, bad taints. */
    {
        struct userdata_facts facts;
        const char *doc = "a = = 1\n";
        CU_ASSERT_EQUAL(userdata_bottlerocket_inspect(doc, strlen(doc), &facts, &err),
                        CORE_E_PARSE);
        doc = "[settings.host-containers.admin]\nenabled = true\n";
        CU_ASSERT_EQUAL_FATAL(userdata_bottlerocket_inspect(doc, strlen(doc), &facts, &err), 0);
        CU_ASSERT_EQUAL(facts.family, K8S_AMI_BOTTLEROCKET);
        CU_ASSERT_EQUAL(facts.joins, 0);
        userdata_facts_cleanup(&facts);
        doc = "[settings.kubernetes]\ncluster-name = 'c'\napi-server = 'https://x'\n"
              "node-taints.k = 'v:NoSchedule'\n";
        CU_ASSERT_EQUAL_FATAL(userdata_bottlerocket_inspect(doc, strlen(doc), &facts, &err), 0);
        CU_ASSERT(facts.joins);
        CU_ASSERT_EQUAL_FATAL(facts.ntaints, 1);
        CU_ASSERT_STRING_EQUAL(facts.taints[0].value, "v");
        userdata_facts_cleanup(&facts);
        doc = "[settings.kubernetes]\nnode-taints.k = ['v:Sometimes']\n";
        CU_ASSERT_EQUAL(userdata_bottlerocket_inspect(doc, strlen(doc), &facts, &err),
                        CORE_E_PARSE);
    }
    brx_cleanup(&f);
}

static void test_br_alloc_failures(void)
{
    unsigned long n;
    struct brx f;
    brx_init(&f);
    brx_kubelet(&f);
    f.in.node.user_data = USER_TOML;
    for (n = 1; n < 100000; n++) {
        struct core_buf b;
        struct core_err err;
        int rc;
        core_alloc_fail_after(n);
        rc = br_render(&f.in, &b, &err);
        if (rc == 0) {
            struct userdata_facts facts;
            rc = userdata_bottlerocket_inspect(b.data, b.len, &facts, &err);
            if (rc == 0)
                userdata_facts_cleanup(&facts);
        }
        core_buf_cleanup(&b);
        if (core_alloc_failures() == 0) {
            core_alloc_fail_after(0);
            CU_ASSERT_EQUAL(rc, 0);
            break;
        }
        core_alloc_fail_after(0);
        CU_ASSERT(rc == CORE_E_NOMEM || rc == CORE_E_TOOBIG);
        if (rc != CORE_E_NOMEM && rc != CORE_E_TOOBIG)
            fprintf(stderr, "\nalloc failure %lu: rc %d %s\n", n, rc, err.message);
    }
    CU_ASSERT(n > 10);
    brx_cleanup(&f);
}

TESTS_SUITE(userdata_toml, "userdata_toml", NULL, NULL, TESTS_CASE(test_valid_all_forms),
            TESTS_CASE(test_valid_roundtrip), TESTS_CASE(test_emit_canonical),
            TESTS_CASE(test_invalid), TESTS_CASE(test_limits), TESTS_CASE(test_api),
            TESTS_CASE(test_alloc_failures), TESTS_CASE(test_br_golden),
            TESTS_CASE(test_br_merge), TESTS_CASE(test_br_kubelet_and_dns), TESTS_CASE(test_br_inline_user),
            TESTS_CASE(test_br_errors), TESTS_CASE(test_br_alloc_failures))
