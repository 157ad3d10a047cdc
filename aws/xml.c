/*
 * aws/xml.c — a bounded element tree built from expat's streaming events.
 *
 * EC2 and STS answer in XML; the service decoders walk this tree. Bytes can be fed as they
 * arrive from the transport, so parsing overlaps the download.
 *
 * Invariants:
 *  - Nodes live in fixed-size blocks owned by the parser; names and texts are heap strings
 *    owned by their node. Freeing the parser frees everything, whatever state it stopped in.
 *  - Depth, node count, text per element and total bytes are checked on every event; the first
 *    limit crossed stops expat and is reported as CORE_E_TOOBIG naming the limit.
 *  - A document type declaration stops the parse (CORE_E_PARSE): AWS never sends one, and
 *    refusing it means no entity can be declared or expanded.
 *  - Once an error is recorded it is sticky: later feeds and finish return it again.
 */
#include "aws/aws.h"

#include <expat.h>
#include <string.h>

#define XML_BLOCK_NODES 256

struct xml_block {
    struct xml_block *next;
    size_t used;
    struct aws_xml_node nodes[XML_BLOCK_NODES];
};

struct aws_xml_parser {
    XML_Parser xp;
    struct aws_xml_limits lim;
    struct xml_block *blocks;
    size_t nnodes;
    size_t fed;
    unsigned depth;
    struct aws_xml_node *root;
    struct aws_xml_node *cur;
    struct core_buf text; /* character data of `cur` so far */
    struct core_err err;  /* sticky */
    int failed;
    int finished;
};

static void xml_fail(struct aws_xml_parser *p, int code, const char *what)
{
    if (!p->failed) {
        p->failed = 1;
        core_err_set(&p->err, code, "XML: %s", what);
    }
    XML_StopParser(p->xp, XML_FALSE);
}

/* Stores the collected text into cur. Whitespace-only text next to child elements (the
 * indentation of a pretty-printed document) is dropped; before_child says a child starts. */
static int xml_flush_text(struct aws_xml_parser *p, int before_child)
{
    struct aws_xml_node *n = p->cur;
    char *s = NULL;
    size_t len = 0;
    int blank = 1;

    if (!n)
        return 0;
    for (size_t i = 0; i < p->text.len && blank; i++)
        blank = p->text.data[i] == ' ' || p->text.data[i] == '\n' || p->text.data[i] == '\r' ||
                p->text.data[i] == '\t';
    if (p->text.len == 0 || (blank && (n->child || before_child))) {
        core_buf_reset(&p->text);
        return 0;
    }
    if (n->text_len) {
        /* Text interrupted by a child element: keep what came before, append the rest. */
        struct core_buf joined;
        core_buf_init(&joined, p->lim.max_text);
        if (core_buf_append(&joined, n->text, n->text_len) != 0 ||
            core_buf_append(&joined, p->text.data, p->text.len) != 0) {
            core_buf_cleanup(&joined);
            return CORE_E_TOOBIG;
        }
        core_free((char *)n->text);
        n->text = NULL;
        if (core_buf_steal(&joined, &s, &len) != 0) {
            core_buf_cleanup(&joined);
            n->text = "";
            n->text_len = 0;
            return CORE_E_NOMEM;
        }
    } else if (core_buf_steal(&p->text, &s, &len) != 0) {
        return CORE_E_NOMEM;
    }
    core_buf_reset(&p->text);
    n->text = s;
    n->text_len = len;
    return 0;
}

static struct aws_xml_node *xml_node_alloc(struct aws_xml_parser *p)
{
    struct xml_block *b = p->blocks;
    if (!b || b->used == XML_BLOCK_NODES) {
        b = core_calloc(1, sizeof *b);
        if (!b)
            return NULL;
        b->next = p->blocks;
        p->blocks = b;
    }
    return &b->nodes[b->used++];
}

static void XMLCALL xml_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct aws_xml_parser *p = ud;
    struct aws_xml_node *n;
    int rc;

    (void)attrs; /* AWS Query answers carry everything in elements */
    if (p->failed)
        return;
    if (p->depth + 1 > p->lim.max_depth) {
        xml_fail(p, CORE_E_TOOBIG, "document nested deeper than the limit");
        return;
    }
    if (p->nnodes + 1 > p->lim.max_nodes) {
        xml_fail(p, CORE_E_TOOBIG, "document has more elements than the limit");
        return;
    }
    rc = xml_flush_text(p, 1);
    if (rc) {
        xml_fail(p, rc, rc == CORE_E_NOMEM ? "out of memory" : "element text over the limit");
        return;
    }
    n = xml_node_alloc(p);
    if (!n) {
        xml_fail(p, CORE_E_NOMEM, "out of memory");
        return;
    }
    memset(n, 0, sizeof *n);
    n->text = "";
    n->name = core_strdup(name);
    if (!n->name) {
        n->name = "";
        xml_fail(p, CORE_E_NOMEM, "out of memory");
        return;
    }
    p->nnodes++;
    n->parent = p->cur;
    if (p->cur) {
        if (p->cur->last)
            p->cur->last->next = n;
        else
            p->cur->child = n;
        p->cur->last = n;
    } else {
        p->root = n;
    }
    p->cur = n;
    p->depth++;
}

static void XMLCALL xml_end(void *ud, const XML_Char *name)
{
    struct aws_xml_parser *p = ud;
    int rc;

    (void)name; /* expat guarantees the end tag matches */
    if (p->failed)
        return;
    rc = xml_flush_text(p, 0);
    if (rc) {
        xml_fail(p, rc, rc == CORE_E_NOMEM ? "out of memory" : "element text over the limit");
        return;
    }
    p->cur = p->cur ? p->cur->parent : NULL;
    p->depth--;
}

static void XMLCALL xml_chars(void *ud, const XML_Char *s, int len)
{
    struct aws_xml_parser *p = ud;
    int rc;
    if (p->failed || !p->cur || len <= 0)
        return;
    if (p->cur->text_len + p->text.len + (size_t)len > p->lim.max_text) {
        xml_fail(p, CORE_E_TOOBIG, "element text over the limit");
        return;
    }
    rc = core_buf_append(&p->text, s, (size_t)len);
    if (rc)
        xml_fail(p, rc, rc == CORE_E_NOMEM ? "out of memory" : "element text over the limit");
}

static void XMLCALL xml_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
                                const XML_Char *pubid, int has_internal_subset)
{
    (void)name;
    (void)sysid;
    (void)pubid;
    (void)has_internal_subset;
    xml_fail(ud, CORE_E_PARSE, "a document type declaration is not accepted");
}

struct aws_xml_parser *aws_xml_parser_new(const struct aws_xml_limits *limits)
{
    struct aws_xml_parser *p = core_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    if (limits)
        p->lim = *limits;
    if (!p->lim.max_depth)
        p->lim.max_depth = 64;
    if (!p->lim.max_nodes)
        p->lim.max_nodes = 1000000;
    if (!p->lim.max_text)
        p->lim.max_text = 1024 * 1024;
    if (!p->lim.max_bytes)
        p->lim.max_bytes = 64u * 1024u * 1024u;
    core_buf_init(&p->text, p->lim.max_text);
    p->xp = XML_ParserCreate(NULL);
    if (!p->xp) {
        core_free(p);
        return NULL;
    }
    XML_SetUserData(p->xp, p);
    XML_SetElementHandler(p->xp, xml_start, xml_end);
    XML_SetCharacterDataHandler(p->xp, xml_chars);
    XML_SetStartDoctypeDeclHandler(p->xp, xml_doctype);
    return p;
}

void aws_xml_parser_free(struct aws_xml_parser *p)
{
    struct xml_block *b;
    if (!p)
        return;
    while ((b = p->blocks) != NULL) {
        p->blocks = b->next;
        for (size_t i = 0; i < b->used; i++) {
            if (b->nodes[i].name && b->nodes[i].name[0])
                core_free((char *)b->nodes[i].name);
            if (b->nodes[i].text && b->nodes[i].text_len)
                core_free((char *)b->nodes[i].text);
        }
        core_free(b);
    }
    core_buf_cleanup(&p->text);
    if (p->xp)
        XML_ParserFree(p->xp);
    core_free(p);
}

static int xml_result(struct aws_xml_parser *p, enum XML_Status st, struct core_err *err)
{
    if (p->failed) {
        if (err)
            *err = p->err;
        return p->err.code;
    }
    if (st != XML_STATUS_OK) {
        p->failed = 1;
        core_err_set(&p->err, CORE_E_PARSE, "XML: %s at line %lu, column %lu",
                     XML_ErrorString(XML_GetErrorCode(p->xp)),
                     (unsigned long)XML_GetCurrentLineNumber(p->xp),
                     (unsigned long)XML_GetCurrentColumnNumber(p->xp));
        if (err)
            *err = p->err;
        return CORE_E_PARSE;
    }
    return 0;
}

int aws_xml_parser_feed(struct aws_xml_parser *p, const char *data, size_t len,
                        struct core_err *err)
{
    enum XML_Status st = XML_STATUS_OK;
    if (p->failed || p->finished)
        return p->failed ? xml_result(p, XML_STATUS_OK, err)
                         : core_err_set(err, CORE_E_STATE, "XML: fed after finish");
    if (len > p->lim.max_bytes - p->fed) {
        p->failed = 1;
        core_err_set(&p->err, CORE_E_TOOBIG, "XML: document larger than %zu bytes",
                     p->lim.max_bytes);
        return xml_result(p, XML_STATUS_OK, err);
    }
    p->fed += len;
    /* expat takes int lengths: feed in slices. */
    while (len > 0 && st == XML_STATUS_OK && !p->failed) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len;
        st = XML_Parse(p->xp, data, n, XML_FALSE);
        data += n;
        len -= (size_t)n;
    }
    return xml_result(p, st, err);
}

int aws_xml_parser_finish(struct aws_xml_parser *p, const struct aws_xml_node **root,
                          struct core_err *err)
{
    enum XML_Status st = XML_STATUS_OK;
    int rc;
    if (!p->failed && !p->finished) {
        st = XML_Parse(p->xp, "", 0, XML_TRUE);
        p->finished = 1;
    }
    rc = xml_result(p, st, err);
    if (rc)
        return rc;
    if (!p->root)
        return core_err_set(err, CORE_E_PARSE, "XML: no element found");
    *root = p->root;
    return 0;
}

const struct aws_xml_node *aws_xml_next(const struct aws_xml_node *parent,
                                        const struct aws_xml_node *after, const char *name)
{
    const struct aws_xml_node *c = after ? after->next : (parent ? parent->child : NULL);
    for (; c; c = c->next)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

const struct aws_xml_node *aws_xml_child(const struct aws_xml_node *n, const char *name)
{
    return aws_xml_next(n, NULL, name);
}

const char *aws_xml_child_text(const struct aws_xml_node *n, const char *name)
{
    const struct aws_xml_node *c = aws_xml_child(n, name);
    return c ? c->text : NULL;
}

const struct aws_xml_node *aws_xml_path(const struct aws_xml_node *n, const char *path)
{
    char seg[128];
    while (n && *path) {
        const char *slash = strchr(path, '/');
        size_t len = slash ? (size_t)(slash - path) : strlen(path);
        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, path, len);
        seg[len] = '\0';
        n = aws_xml_child(n, seg);
        path += len + (slash ? 1 : 0);
    }
    return n;
}
