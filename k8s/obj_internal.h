/*
 * k8s/obj_internal.h — the table-driven decoder shared by the typed-object files (objects.c,
 * obj_core.c, obj_stoker.c). Nothing outside k8s/ includes it.
 *
 * A struct is described by a table of fields (JSON name, type, offset in the C struct, flags,
 * range) plus an optional check hook run after the fields (cross-field validation, defaults,
 * values computed from the JSON). The same table drives decoding and cleanup, so every owned
 * member that the decoder fills is also freed, whatever the point of failure.
 *
 * Invariants:
 *  - A nested description may use the parent's base pointer (offset 0) to flatten JSON nesting
 *    into one C struct; every owned member appears in exactly one table, so nothing is freed
 *    twice.
 *  - Arrays are a T * member plus a size_t count member; the pointer and count are stored
 *    before the elements are decoded, so cleanup after a failure frees the partial array.
 *  - The context carries the kind, the object name and the JSON path; every error goes through
 *    obj_fail, which formats "Kind ns/name: path: message".
 */
#ifndef STOKER_K8S_OBJ_INTERNAL_H
#define STOKER_K8S_OBJ_INTERNAL_H

#include "k8s/k8s.h"

#include <stddef.h>

struct obj_ctx {
    const char *kind;
    char obj[320];   /* "ns/name", "name" or "" */
    const char *name; /* metadata.name of the object being decoded (borrowed) */
    char path[400];
    size_t plen;
    int strict;      /* unknown fields are errors */
    int is_pod;      /* decoding a Pod (not a template): ephemeral volumes name their claims */
    struct core_err *err;
};

enum obj_ftype {
    FT_STR = 1, /* char * */
    FT_BOOL,    /* int 0/1 */
    FT_INT,     /* int64_t in [min, max] */
    FT_QTY,     /* int64_t milli (whole units with FL_VALUE) in [min, max]; string or number */
    FT_DUR,     /* core_ns, Go duration, not negative */
    FT_TIME,    /* core_ns, RFC 3339 */
    FT_LABELS,  /* struct k8s_labels from an object of strings */
    FT_STRS,    /* struct k8s_strings from an array of strings */
    FT_RES,     /* struct k8s_res_list from an object of quantities (not negative) */
    FT_ENUM,    /* an int enum: index in names + 1 */
    FT_ENUMSET, /* unsigned bit set: bit index for each name in an array */
    FT_OBJ,     /* a nested struct (ref = struct obj_desc) */
    FT_ARR,     /* T * at off, size_t count at aux (ref = the element's struct obj_desc) */
    FT_HOOK,    /* a known field the description's check hook decodes itself */
};

#define FL_REQ 0x01u      /* present and not null */
#define FL_NONEMPTY 0x02u /* strings: not ""; arrays and maps: at least one entry */
#define FL_NEVER 0x04u    /* durations: "Never" is K8S_NEVER */
#define FL_VALUE 0x08u    /* quantities: whole units, not milli */
#define FL_EMPTY0 0x10u   /* enums: "" is 0 */

struct obj_desc;

struct obj_field {
    const char *name;
    unsigned char type;
    unsigned char flags;
    size_t off;
    size_t aux;          /* FT_ARR: offset of the count */
    size_t has;          /* offset + 1 of an int set to 1 when the field is present; 0 = none */
    int64_t min, max;    /* FT_INT/FT_QTY: range; FT_ARR/FT_STRS/FT_LABELS: max entries (0 = any) */
    const void *ref;     /* FT_ENUM/FT_ENUMSET: const char *const[] ending in NULL;
                            FT_OBJ/FT_ARR: const struct obj_desc * */
};

enum obj_strictness { OBJ_INHERIT = 0, OBJ_STRICT, OBJ_LENIENT };

struct obj_desc {
    const struct obj_field *f;
    size_t n;
    size_t size;         /* the C struct's size (array elements) */
    unsigned char strict;
    /* After the fields, with the path at this object: validation and defaults. */
    int (*check)(struct obj_ctx *c, const json_t *obj, void *dst);
    /* Frees members that are not in the table (filled by check). */
    void (*cleanup)(void *dst);
};

#define OBJ_DESC(name, T, strictness, checkfn, cleanupfn)                                          \
    const struct obj_desc name = {name##_f, sizeof name##_f / sizeof name##_f[0], sizeof(T),       \
                                  strictness, checkfn, cleanupfn}

#define HAS(T, m) (offsetof(T, m) + 1)
#define F_STR(js, T, m, fl) {.name = js, .type = FT_STR, .flags = fl, .off = offsetof(T, m)}
#define F_BOOL(js, T, m, has_) {.name = js, .type = FT_BOOL, .off = offsetof(T, m), .has = has_}
#define F_INT(js, T, m, fl, has_, lo, hi)                                                          \
    {.name = js, .type = FT_INT, .flags = fl, .off = offsetof(T, m), .has = has_, .min = lo,       \
     .max = hi}
#define F_QTY(js, T, m, fl, lo, hi)                                                                \
    {.name = js, .type = FT_QTY, .flags = fl, .off = offsetof(T, m), .min = lo, .max = hi}
#define F_DUR(js, T, m, fl, has_)                                                                  \
    {.name = js, .type = FT_DUR, .flags = fl, .off = offsetof(T, m), .has = has_}
#define F_TIME(js, T, m, has_) {.name = js, .type = FT_TIME, .off = offsetof(T, m), .has = has_}
#define F_LABELS(js, T, m, fl) {.name = js, .type = FT_LABELS, .flags = fl, .off = offsetof(T, m)}
#define F_STRS(js, T, m, fl, hi)                                                                   \
    {.name = js, .type = FT_STRS, .flags = fl, .off = offsetof(T, m), .max = hi}
#define F_RES(js, T, m) {.name = js, .type = FT_RES, .off = offsetof(T, m)}
#define F_ENUM(js, T, m, fl, names)                                                                \
    {.name = js, .type = FT_ENUM, .flags = fl, .off = offsetof(T, m), .ref = names}
#define F_ENUMSET(js, T, m, names)                                                                 \
    {.name = js, .type = FT_ENUMSET, .off = offsetof(T, m), .ref = names}
/* A nested object stored at member m; F_NEST flattens it into the same struct. */
#define F_OBJ(js, T, m, fl, desc, has_)                                                            \
    {.name = js, .type = FT_OBJ, .flags = fl, .off = offsetof(T, m), .has = has_, .ref = &desc}
#define F_NEST(js, fl, desc) {.name = js, .type = FT_OBJ, .flags = fl, .off = 0, .ref = &desc}
#define F_HOOK(js) {.name = js, .type = FT_HOOK}
#define F_ARR(js, T, m, cnt, fl, hi, desc)                                                         \
    {.name = js, .type = FT_ARR, .flags = fl, .off = offsetof(T, m), .aux = offsetof(T, cnt),      \
     .max = hi, .ref = &desc}

/* Formats "Kind ns/name: path: message" into c->err; returns code. */
int obj_fail(struct obj_ctx *c, int code, const char *fmt, ...) CORE_PRINTF(3, 4);
/* The same at a path relative to the current one ("spec.tags[x]", "[2].name"). */
int obj_fail_at(struct obj_ctx *c, const char *rel, int code, const char *fmt, ...)
    CORE_PRINTF(4, 5);
/* Whether obj has key with a non-null value. */
int obj_has(const json_t *obj, const char *key);
/* Path steps: ".key" (or "key" at the root), "[i]", "[key]"; obj_pop restores a mark. */
size_t obj_push_key(struct obj_ctx *c, const char *key);
size_t obj_push_index(struct obj_ctx *c, size_t i);
size_t obj_push_mapkey(struct obj_ctx *c, const char *key);
void obj_pop(struct obj_ctx *c, size_t mark);

/* Decodes obj (which must be a JSON object) by d into dst. dst must start zeroed. */
int obj_decode(struct obj_ctx *c, const json_t *obj, const struct obj_desc *d, void *dst);
/* Frees what d describes in dst (not dst itself) and leaves those members zeroed. */
void obj_cleanup(const struct obj_desc *d, void *dst);
/* A whole object of a kind: names it from metadata for messages, checks "kind", decodes by
 * d. dst must start zeroed; on failure it is cleaned. */
int obj_decode_root(const char *kind, int is_pod, const json_t *obj, const struct obj_desc *d,
                    void *dst, struct core_err *err);

/* Shared descriptions (objects.c). */
extern const struct obj_desc obj_meta_desc;       /* struct k8s_meta */
extern const struct obj_desc obj_condition_desc;  /* struct k8s_condition */
extern const struct obj_desc obj_taint_desc;      /* struct k8s_taint */
extern const struct obj_desc obj_toleration_desc; /* struct k8s_toleration */
extern const struct obj_desc obj_label_req_desc;  /* struct k8s_requirement, 4 operators */
extern const struct obj_desc obj_node_req_desc;   /* struct k8s_requirement, 6 operators */
extern const struct obj_desc obj_pool_req_desc;   /* ... with minValues (NodePool, NodeClaim) */
extern const struct obj_desc obj_label_selector_desc; /* struct k8s_label_selector */
extern const struct obj_desc obj_node_selector_desc;  /* struct k8s_node_selector */
extern const struct obj_desc obj_node_term_desc;      /* struct k8s_node_selector_term */

/* String helpers. */
int obj_streq(const char *a, const char *b); /* NULL equals "" */
/* A Kubernetes qualified name ("prefix/name"), as label keys are. */
int obj_valid_label_key(const char *key);
int obj_valid_label_value(const char *value);
/* A decimal integer: an optional '-' and digits only (no space, no '+'), fitting int64. */
int obj_parse_int(const char *s, int64_t *out);

/* Generates k8s_<fn>_decode and k8s_<fn>_cleanup for a kind described by desc. */
#define OBJ_KIND(fn, T, kindname, is_pod, desc)                                                    \
    int k8s_##fn##_decode(const json_t *obj, struct T *out, struct core_err *err)                  \
    {                                                                                              \
        struct T tmp;                                                                              \
        int rc;                                                                                    \
        memset(&tmp, 0, sizeof tmp);                                                               \
        rc = obj_decode_root(kindname, is_pod, obj, &desc, &tmp, err);                             \
        if (rc == 0)                                                                               \
            *out = tmp;                                                                            \
        return rc;                                                                                 \
    }                                                                                              \
    void k8s_##fn##_cleanup(struct T *p)                                                           \
    {                                                                                              \
        if (!p)                                                                                    \
            return;                                                                                \
        obj_cleanup(&desc, p);                                                                     \
        memset(p, 0, sizeof *p);                                                                   \
    }

#endif
