/*
 * core/map.c — a string-keyed hash map with open addressing and linear probing.
 *
 * Invariants: capacity is a power of two; the load (live + tombstones) stays at most 3/4 of it;
 * keys are owned copies; values are borrowed. Deletion leaves a tombstone so probe chains stay
 * intact; a rehash drops the tombstones.
 */
#include "core/core.h"

#include <string.h>

struct map_slot {
    char *key;      /* NULL = empty */
    void *val;
    uint64_t hash;
    int tomb;       /* deleted: key is NULL, chain continues */
};

struct core_map {
    struct map_slot *slots;
    size_t cap;
    size_t len;
    size_t used; /* live + tombstones */
};

/* FNV-1a: simple, good enough for object keys; no adversary controls our key space. */
static uint64_t map_hash(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

struct core_map *core_map_new(void)
{
    return core_calloc(1, sizeof(struct core_map));
}

void core_map_free(struct core_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        core_free(m->slots[i].key);
    core_free(m->slots);
    core_free(m);
}

size_t core_map_len(const struct core_map *m)
{
    return m->len;
}

static struct map_slot *map_find(const struct core_map *m, const char *key, uint64_t h)
{
    size_t mask, i;
    if (!m->cap)
        return NULL;
    mask = m->cap - 1;
    for (i = h & mask;; i = (i + 1) & mask) {
        struct map_slot *s = &m->slots[i];
        if (!s->key && !s->tomb)
            return NULL;
        if (s->key && s->hash == h && strcmp(s->key, key) == 0)
            return s;
    }
}

static int map_grow(struct core_map *m)
{
    size_t ncap = m->cap ? m->cap : 16;
    struct map_slot *ns;

    while ((m->len + 1) * 4 > ncap * 3 / 2)
        ncap *= 2;
    ns = core_calloc(ncap, sizeof *ns);
    if (!ns)
        return CORE_E_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct map_slot *s = &m->slots[i];
        size_t j;
        if (!s->key)
            continue;
        for (j = s->hash & (ncap - 1); ns[j].key; j = (j + 1) & (ncap - 1))
            ;
        ns[j] = *s;
    }
    core_free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    m->used = m->len;
    return 0;
}

int core_map_set(struct core_map *m, const char *key, void *val, void **old)
{
    uint64_t h = map_hash(key);
    struct map_slot *s = map_find(m, key, h);
    size_t i, mask;
    char *k;

    if (s) {
        if (old)
            *old = s->val;
        s->val = val;
        return 0;
    }
    if ((m->used + 1) * 4 > m->cap * 3) {
        int rc = map_grow(m);
        if (rc)
            return rc;
    }
    k = core_strdup(key);
    if (!k)
        return CORE_E_NOMEM;
    mask = m->cap - 1;
    for (i = h & mask; m->slots[i].key; i = (i + 1) & mask)
        ;
    s = &m->slots[i];
    if (!s->tomb)
        m->used++;
    s->key = k;
    s->val = val;
    s->hash = h;
    s->tomb = 0;
    m->len++;
    if (old)
        *old = NULL;
    return 0;
}

void *core_map_get(const struct core_map *m, const char *key, int *found)
{
    struct map_slot *s = map_find(m, key, map_hash(key));
    if (found)
        *found = s != NULL;
    return s ? s->val : NULL;
}

void *core_map_del(struct core_map *m, const char *key)
{
    struct map_slot *s = map_find(m, key, map_hash(key));
    void *v;
    if (!s)
        return NULL;
    v = s->val;
    core_free(s->key);
    s->key = NULL;
    s->val = NULL;
    s->tomb = 1;
    m->len--;
    return v;
}

int core_map_next(const struct core_map *m, size_t *iter, const char **key, void **val)
{
    for (size_t i = *iter; i < m->cap; i++) {
        if (m->slots[i].key) {
            *iter = i + 1;
            if (key)
                *key = m->slots[i].key;
            if (val)
                *val = m->slots[i].val;
            return 1;
        }
    }
    *iter = m->cap;
    return 0;
}
