/*
 * userdata/internal.h — declarations shared between the userdata module's files and nowhere
 * else: the validated, family-independent settings every renderer starts from, the small MIME
 * writer/parser, the warm-up script writers, and the TOML / Bottlerocket entry points that
 * userdata/toml.c and userdata/bottlerocket.c implement.
 *
 * Invariants:
 *  - struct userdata_settings is built once per render by userdata_settings_build, which does
 *    all validation; renderers never re-validate and never fail on content (only NOMEM/TOOBIG).
 *  - Everything in the settings is either borrowed from the struct userdata_input it was built
 *    from (so it must outlive the settings) or owned and released by userdata_settings_cleanup.
 *  - MIME parts point into the document they were parsed from, except base64 bodies, which are
 *    decoded into owned memory; userdata_mime_cleanup releases both kinds.
 */
#ifndef STOKER_USERDATA_INTERNAL_H
#define STOKER_USERDATA_INTERNAL_H

#include "userdata/userdata.h"

#include <stddef.h>
#include <stdint.h>

/* ---- settings ----------------------------------------------------------------------------- */

/* The facts every family renders, validated and defaulted. */
struct userdata_settings {
    const char *cluster_name;    /* borrowed from in->cluster */
    const char *endpoint;        /* borrowed; https://... */
    const char *ca_bundle;       /* borrowed; base64 of a PEM bundle (checked) */
    const char *cidr;            /* borrowed or the default "10.100.0.0/16" */
    char **cluster_dns;          /* owned; IP literals; >= 1 entry */
    size_t ncluster_dns;
    int32_t max_pods;            /* 1..USERDATA_MAX_PODS: kubelet.maxPods when set, else
                                    node.max_pods */
    const struct k8s_kv *labels; /* borrowed from node.labels: sorted by key, unique */
    size_t nlabels;
    struct k8s_taint *taints;    /* owned array of shallow copies (strings borrowed): the
                                    NodeClaim's taints, then its startup taints, then
                                    USERDATA_STARTUP_TAINT_KEY:NoExecute; no duplicates
                                    (same key and effect) */
    size_t ntaints;
    struct k8s_labels system_reserved; /* owned: resource -> kubelet quantity ("100m", "1Gi") */
    struct k8s_labels kube_reserved;
    const struct k8s_labels *eviction_hard;  /* borrowed (never NULL; may be empty): signal ->
                                                "100Mi" / "10%" (checked) */
    const struct k8s_labels *eviction_soft;
    const struct k8s_labels *eviction_soft_grace_period; /* signal -> Go duration */
    int64_t eviction_max_pod_grace_period;
    int has_eviction_max_pod_grace_period;
    int64_t image_gc_high;
    int has_image_gc_high;
    int64_t image_gc_low;
    int has_image_gc_low;
    int cpu_cfs_quota;
    int has_cpu_cfs_quota;
    int instance_store_raid0;
};

/* Validates in (cluster, node, kubelet; not the user data, not the warm settings) and fills
 * out. CORE_E_INVAL naming the field. out is written only on success. */
int userdata_settings_build(const struct userdata_input *in, struct userdata_settings *out,
                            struct core_err *err) CORE_NODISCARD;
void userdata_settings_cleanup(struct userdata_settings *s);

/* ---- Bottlerocket (userdata/bottlerocket.c, userdata/toml.c) ------------------------------ */

/* Appends the Bottlerocket TOML for the join phase (the warm phase is refused by the caller). */
int userdata_render_bottlerocket(const struct userdata_input *in,
                                 const struct userdata_settings *s, struct core_buf *raw,
                                 struct core_err *err) CORE_NODISCARD;
/* Facts from a Bottlerocket TOML document; CORE_E_PARSE when it is not TOML. */
int userdata_bottlerocket_inspect(const char *raw, size_t len, struct userdata_facts *out,
                                  struct core_err *err) CORE_NODISCARD;

struct userdata_toml;
int userdata_toml_parse(const char *text, size_t len, struct userdata_toml **out,
                        struct core_err *err) CORE_NODISCARD;
void userdata_toml_free(struct userdata_toml *t);

/* ---- TOML (toml.c) -------------------------------------------------------------------------
 * A strict, bounded TOML 1.0 tree. Paths are TOML keys ("settings.kubernetes.node-labels",
 * "a.\"example.com/role\""), so keys containing dots are reachable. Tables keep their keys in
 * insertion order; the emitter's output is canonical and re-parses to the same tree. */
#define USERDATA_TOML_MAX_INPUT (1u << 20) /* bytes */
#define USERDATA_TOML_MAX_DEPTH 64         /* nesting of tables and arrays */
#define USERDATA_TOML_MAX_VALUES 100000u   /* nodes (values, arrays, tables) per document */

enum userdata_toml_type {
    USERDATA_TOML_STRING = 1,
    USERDATA_TOML_INTEGER,
    USERDATA_TOML_FLOAT,
    USERDATA_TOML_BOOL,
    USERDATA_TOML_DATETIME,       /* offset date-time, kept as its text */
    USERDATA_TOML_DATETIME_LOCAL, /* local date-time, text */
    USERDATA_TOML_DATE_LOCAL,     /* text */
    USERDATA_TOML_TIME_LOCAL,     /* text */
    USERDATA_TOML_ARRAY,
    USERDATA_TOML_TABLE,
};
struct userdata_toml_value;

/* An empty document. */
int userdata_toml_new(struct userdata_toml **out, struct core_err *err) CORE_NODISCARD;
/* The root table (never NULL). */
struct userdata_toml_value *userdata_toml_root(struct userdata_toml *t);
/* The value at path under table, or NULL (absent, path does not parse, or an intermediate is
 * not a table). */
struct userdata_toml_value *userdata_toml_get(const struct userdata_toml_value *table,
                                              const char *path);
enum userdata_toml_type userdata_toml_type(const struct userdata_toml_value *v); /* 0 for NULL */
/* String content (or the text of a date/time); may contain NUL bytes, *len tells. NULL for
 * other types. */
const char *userdata_toml_str(const struct userdata_toml_value *v, size_t *len);
int64_t userdata_toml_int(const struct userdata_toml_value *v);   /* 0 unless INTEGER */
double userdata_toml_float(const struct userdata_toml_value *v);  /* 0 unless FLOAT */
int userdata_toml_bool(const struct userdata_toml_value *v);      /* 0 unless BOOL */
/* Items of an array, keys of a table; 0 otherwise. */
size_t userdata_toml_len(const struct userdata_toml_value *v);
/* The i-th item of an array, or NULL. */
struct userdata_toml_value *userdata_toml_at(const struct userdata_toml_value *arr, size_t i);
/* The i-th key of a table in insertion order (NULL past the end); *val gets its value. */
const char *userdata_toml_key_at(const struct userdata_toml_value *table, size_t i,
                                 size_t *keylen, struct userdata_toml_value **val);
/* Setters: create missing intermediate tables, replace whatever the final key held (keeping
 * its position). CORE_E_INVAL when the path does not parse or an intermediate is not a table,
 * naming the path. */
int userdata_toml_set_string(struct userdata_toml_value *table, const char *path,
                             const char *s, struct core_err *err) CORE_NODISCARD;
int userdata_toml_set_int(struct userdata_toml_value *table, const char *path, int64_t v,
                          struct core_err *err) CORE_NODISCARD;
int userdata_toml_set_bool(struct userdata_toml_value *table, const char *path, int v,
                           struct core_err *err) CORE_NODISCARD;
int userdata_toml_set_strings(struct userdata_toml_value *table, const char *path,
                              const char *const *v, size_t n,
                              struct core_err *err) CORE_NODISCARD;
/* Replaces the value at path with an empty table, returned in *out (borrowed). */
int userdata_toml_set_table(struct userdata_toml_value *table, const char *path,
                            struct userdata_toml_value **out,
                            struct core_err *err) CORE_NODISCARD;
/* The table at path, created empty when absent; CORE_E_INVAL when something else is there. */
int userdata_toml_ensure_table(struct userdata_toml_value *table, const char *path,
                               struct userdata_toml_value **out,
                               struct core_err *err) CORE_NODISCARD;
/* Removes path; 1 when something was removed, 0 when absent (or, for a path that needs
 * unescaping, when memory ran out). */
int userdata_toml_delete(struct userdata_toml_value *table, const char *path);
/* Appends the canonical TOML text of the document. CORE_E_TOOBIG past out's limit. */
int userdata_toml_emit(const struct userdata_toml *t, struct core_buf *out,
                       struct core_err *err) CORE_NODISCARD;
/* Deep equality (table key order ignored, NaN equals NaN): for tests and fuzzing. */
int userdata_toml_equal(const struct userdata_toml_value *a, const struct userdata_toml_value *b);
/* ---- end TOML (toml.c) --------------------------------------------------------------------- */

/* ---- MIME (userdata/mime.c) ---------------------------------------------------------------- */

#define USERDATA_MIME_MAX_PARTS 64
#define USERDATA_MIME_MAX_HEADERS 32

struct userdata_mime_header {
    const char *name;   /* points into the document; not NUL-terminated */
    size_t name_len;
    const char *value;  /* trimmed; folded continuation lines included verbatim */
    size_t value_len;
};
struct userdata_mime_part {
    struct userdata_mime_header headers[USERDATA_MIME_MAX_HEADERS];
    size_t nheaders;
    char content_type[128];  /* media type only, lower case ("text/x-shellscript"); "" = none */
    char encoding[32];       /* Content-Transfer-Encoding, lower case; "" = none */
    const char *body;        /* decoded body (base64 decoded when so encoded) */
    size_t body_len;
    char *owned;             /* the decoded body when it is not a slice of the document */
    const char *raw_body;    /* the body as written in the document (still encoded) */
    size_t raw_body_len;
};
struct userdata_mime {
    struct userdata_mime_header headers[USERDATA_MIME_MAX_HEADERS]; /* the document's */
    size_t nheaders;
    char content_type[128];
    char boundary[72];       /* RFC 2046: at most 70 characters */
    struct userdata_mime_part *parts;
    size_t nparts;
};

/* Whether text looks like a MIME document (a header block with a Content-Type or
 * MIME-Version header before the first blank line). */
int userdata_mime_detect(const char *text, size_t len);
/* Parses a multipart document. CORE_E_PARSE for anything malformed (no boundary, no closing
 * delimiter, too many parts/headers, bad base64). */
int userdata_mime_parse(const char *text, size_t len, struct userdata_mime *out,
                        struct core_err *err) CORE_NODISCARD;
void userdata_mime_cleanup(struct userdata_mime *m);
/* The value of a header (case-insensitive name), or NULL; *len set. */
const char *userdata_mime_header_get(const struct userdata_mime_header *h, size_t n,
                                     const char *name, size_t *len);

/* Writer: a part's full header block (as lines, without the trailing blank line) and body. */
struct userdata_mime_out_part {
    const char *headers;     /* "Content-Type: text/x-shellscript; charset=\"us-ascii\"" or
                                several lines joined with \n (no final line end); may be
                                empty (a part without headers) */
    size_t headers_len;
    const char *body;
    size_t body_len;
};
/* Appends a multipart/mixed document. The boundary is USERDATA_MIME_BOUNDARY, or "//1",
 * "//2", ... when a part contains a previous candidate. Lines end with \n. */
int userdata_mime_write(const struct userdata_mime_out_part *parts, size_t n,
                        struct core_buf *out, struct core_err *err) CORE_NODISCARD;

/* ---- warm-up scripts (userdata/render.c) -------------------------------------------------- */

#define USERDATA_WARM_MARKER "# stoker warm-up"
#define USERDATA_WARM_STAY_MARKER "# stoker warm-up: stays running"
/* Checks an image reference (no whitespace or quotes; a registry charset). */
int userdata_image_valid(const char *image);

#endif /* STOKER_USERDATA_INTERNAL_H */
