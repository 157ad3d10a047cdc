/*
 * tests/fuzz/fuzz_aws_xml.c — libFuzzer target for the bounded XML tree: arbitrary bytes, fed
 * in two pieces at a split point taken from the input, under tight limits; every tree that
 * comes out is walked completely.
 */
#include "aws/aws.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const struct aws_xml_node *n, unsigned depth)
{
    size_t count = 0;
    for (; n; n = n->next) {
        count += 1 + strlen(n->name) + n->text_len;
        if (depth < 100)
            count += walk(n->child, depth + 1);
    }
    return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct aws_xml_limits lim = {16, 2000, 4096, 1 << 20};
    struct aws_xml_parser *p = aws_xml_parser_new(&lim);
    const struct aws_xml_node *root = NULL;
    struct core_err err;
    size_t split = size ? data[0] % (size + 1) : 0;

    if (!p)
        return 0;
    if (aws_xml_parser_feed(p, (const char *)data, split, &err) == 0 &&
        aws_xml_parser_feed(p, (const char *)data + split, size - split, &err) == 0 &&
        aws_xml_parser_finish(p, &root, &err) == 0)
        (void)walk(root, 0);
    aws_xml_parser_free(p);
    return 0;
}
