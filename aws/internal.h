/*
 * aws/internal.h — pieces shared inside the aws module (and by its tests and fuzzers), not
 * part of the module's public interface: the bounded XML tree built from expat events, and the
 * Query-protocol form builder.
 *
 * Invariants: every limit is explicit (depth, node count, text bytes, total bytes); exceeding
 * one is CORE_E_TOOBIG with a message that names the limit; malformed XML is CORE_E_PARSE with
 * expat's line and column. A DOCTYPE is refused outright, so no entity can be declared, let
 * alone expanded.
 */
#ifndef STOKER_AWS_INTERNAL_H
#define STOKER_AWS_INTERNAL_H

#include "core/core.h"

#include <stddef.h>

/* ---- XML tree ------------------------------------------------------------------------------ */

struct aws_xml_node {
    const char *name;       /* element name as written (no namespace processing) */
    const char *text;       /* concatenated character data directly inside, "" if none */
    size_t text_len;
    struct aws_xml_node *parent;
    struct aws_xml_node *child; /* first child element */
    struct aws_xml_node *last;  /* last child element */
    struct aws_xml_node *next;  /* next sibling element */
};

struct aws_xml_limits {
    unsigned max_depth;  /* default 64 */
    size_t max_nodes;    /* default 1,000,000 */
    size_t max_text;     /* bytes of text in one element; default 1 MiB */
    size_t max_bytes;    /* bytes fed in total; default 64 MiB */
};

/* An incremental parser: feed bytes as they arrive, then finish to get the tree. Opaque. */
struct aws_xml_parser;

/* limits may be NULL for the defaults. NULL on allocation failure. */
struct aws_xml_parser *aws_xml_parser_new(const struct aws_xml_limits *limits);
/* Frees the parser and, unless it was taken with aws_xml_parser_finish, its tree. */
void aws_xml_parser_free(struct aws_xml_parser *p);
/* Feeds a piece of the document. After an error every later call returns the same error. */
int aws_xml_parser_feed(struct aws_xml_parser *p, const char *data, size_t len,
                        struct core_err *err);
/* Ends the document and returns its root element (borrowed: valid until the parser is freed). */
int aws_xml_parser_finish(struct aws_xml_parser *p, const struct aws_xml_node **root,
                          struct core_err *err);

/* First child element with this name, or NULL. */
const struct aws_xml_node *aws_xml_child(const struct aws_xml_node *n, const char *name);
/* Text of the first child with this name, or NULL when there is no such child. */
const char *aws_xml_child_text(const struct aws_xml_node *n, const char *name);
/* The next sibling after `after` with this name (after = NULL: the first child so named). */
const struct aws_xml_node *aws_xml_next(const struct aws_xml_node *parent,
                                        const struct aws_xml_node *after, const char *name);
/* Follows a path of child names separated by '/', e.g. "Errors/Error/Code". */
const struct aws_xml_node *aws_xml_path(const struct aws_xml_node *n, const char *path);

/* ---- Query protocol form ------------------------------------------------------------------- */

/* An ordered list of name=value pairs that encodes to an application/x-www-form-urlencoded
 * body (RFC 3986 unreserved characters kept, everything else percent-encoded). */
struct aws_query {
    char **names;
    char **values;
    size_t n, cap;
};

void aws_query_init(struct aws_query *q);
void aws_query_cleanup(struct aws_query *q);
int aws_query_add(struct aws_query *q, const char *name, const char *value);
/* Adds a pair whose name is formatted, e.g. ("Filter.%zu.Value.%zu", i, j). */
int aws_query_addf(struct aws_query *q, const char *value, const char *name_fmt, ...)
    CORE_PRINTF(3, 4);
/* Value of the first pair with this name, or NULL. */
const char *aws_query_get(const struct aws_query *q, const char *name);
/* Appends the encoded form to out. */
int aws_query_encode(const struct aws_query *q, struct core_buf *out);
/* Parses an encoded form (as the emulators receive it) into q; names and values decoded. */
int aws_query_parse(struct aws_query *q, const char *body, size_t len, struct core_err *err);

#endif
