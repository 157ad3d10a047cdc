/*
 * tests/fuzz/fuzz_k8s_yaml.c — libFuzzer target for k8s_yaml_parse: arbitrary bytes as a YAML
 * stream through libyaml's events, scalar resolution, anchors and the limits of k8s/yaml.c.
 *
 * Checked: a success hands back exactly ndocs non-NULL, non-null documents (NULL array when
 * there are none) that jansson can serialise (so no NaN or infinity slipped in and every string
 * is UTF-8), nested no deeper than the depth limit; a failure has the same code in err, a
 * message, and no documents. Every document is then run through the EC2NodeClass and NodePool
 * decoders, the way `stoker ami resolve -f` and `userdata render` use them.
 */
#include "k8s/k8s.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t depth_of(const json_t *v)
{
    size_t d = 0, i;
    const char *k;
    json_t *c;

    if (json_is_array(v)) {
        json_array_foreach(v, i, c) {
            size_t x = depth_of(c);
            if (x > d)
                d = x;
        }
        return d + 1;
    }
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, c) {
            size_t x = depth_of(c);
            if (x > d)
                d = x;
        }
        return d + 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t **docs = (json_t **)&docs;
    size_t n = 7777;
    struct core_err err;
    int rc;

    memset(&err, 0, sizeof err);
    rc = k8s_yaml_parse((const char *)data, size, &docs, &n, &err);
    if (rc != 0) {
        if (rc >= 0 || err.code != rc || !err.message[0] || docs != (json_t **)&docs ||
            n != 7777)
            __builtin_trap();
        return 0;
    }
    if ((n == 0) != (docs == NULL))
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        char *text;
        struct k8s_ec2nodeclass nc;
        struct k8s_nodepool np;

        if (!docs[i] || json_is_null(docs[i]) || depth_of(docs[i]) > K8S_YAML_MAX_DEPTH)
            __builtin_trap();
        text = json_dumps(docs[i], JSON_ENCODE_ANY);
        if (!text)
            __builtin_trap();
        free(text);
        memset(&nc, 0, sizeof nc);
        if (k8s_ec2nodeclass_decode(docs[i], &nc, &err) == 0)
            k8s_ec2nodeclass_cleanup(&nc);
        memset(&np, 0, sizeof np);
        if (k8s_nodepool_decode(docs[i], &np, &err) == 0)
            k8s_nodepool_cleanup(&np);
    }
    k8s_yaml_docs_free(docs, n);
    return 0;
}
