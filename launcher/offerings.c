/*
 * launcher/offerings.c — the offerings table: for each instance type of one catalog, where
 * (zone) and how (on-demand, spot) it can be launched, at what price, and whether a recent
 * capacity error makes it unavailable for a while.
 *
 * Layout: one slot per catalog type index holding a small array of struct launcher_offer, so
 * the scheduler's per-type question (launcher_offerings_of) is one index and no allocation.
 * Zones are interned into a table of at most LAUNCHER_MAX_ZONES names and offers carry the
 * zone's index, which is why that limit exists (uint8_t in the offer).
 *
 * Invariants:
 *  - Every slot's array is sorted by (zone index, capacity type), with no duplicate pair.
 *  - Zone indexes are registration order and never change; a zone is registered only by an
 *    offering that was stored (a failed set leaves no trace).
 *  - Every stored price is > 0 and finite.
 *  - Nothing here reads a clock: availability is always asked at a caller-given time.
 */
#include "launcher/internal.h"

#include <math.h>
#include <string.h>

#define ZONE_NAME_MAX 64u
#define REGION_NAME_MAX 64u

struct slot {
    struct launcher_offer *v;
    uint8_t n, cap;
};

struct launcher_offerings {
    const struct launcher_catalog *cat; /* borrowed */
    char *region;
    char *zones[LAUNCHER_MAX_ZONES];
    size_t nzones;
    struct slot *slots; /* launcher_catalog_count(cat) entries */
    size_t nslots;
};

const char *launcher_ct_name(enum launcher_ct ct)
{
    switch (ct) {
    case LAUNCHER_ON_DEMAND:
        return LAUNCHER_CT_ON_DEMAND;
    case LAUNCHER_SPOT:
        return LAUNCHER_CT_SPOT;
    default:
        return NULL;
    }
}

int launcher_ct_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, LAUNCHER_CT_ON_DEMAND) == 0)
        return LAUNCHER_ON_DEMAND;
    if (strcmp(s, LAUNCHER_CT_SPOT) == 0)
        return LAUNCHER_SPOT;
    return -1;
}

static int ct_valid(enum launcher_ct ct)
{
    return (int)ct >= 0 && ct < LAUNCHER_CT_COUNT;
}

int launcher_offerings_new(const struct launcher_catalog *cat, const char *region,
                           struct launcher_offerings **out, struct core_err *err)
{
    struct launcher_offerings *o = NULL;
    size_t n;
    int rc = 0;

    if (!cat || !region || !out)
        return core_err_set(err, CORE_E_INVAL, "offerings: catalog, region and out are "
                            "required");
    if (strlen(region) >= REGION_NAME_MAX)
        return core_err_set(err, CORE_E_INVAL, "offerings: region name longer than %u bytes",
                            REGION_NAME_MAX - 1);
    n = launcher_catalog_count(cat);
    o = core_calloc(1, sizeof *o);
    if (!o)
        goto nomem;
    o->cat = cat;
    o->region = core_strdup(region);
    o->slots = core_calloc(n ? n : 1, sizeof *o->slots);
    if (!o->region || !o->slots)
        goto nomem;
    o->nslots = n;
    *out = o;
    return 0;
nomem:
    rc = core_err_set(err, CORE_E_NOMEM, "offerings: out of memory");
    launcher_offerings_free(o);
    return rc;
}

void launcher_offerings_free(struct launcher_offerings *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nslots; i++)
        core_free(o->slots[i].v);
    core_free(o->slots);
    for (size_t i = 0; i < o->nzones; i++)
        core_free(o->zones[i]);
    core_free(o->region);
    core_free(o);
}

int launcher_offerings_zone_index(const struct launcher_offerings *o, const char *zone)
{
    if (!o || !zone)
        return -1;
    for (size_t i = 0; i < o->nzones; i++)
        if (strcmp(o->zones[i], zone) == 0)
            return (int)i;
    return -1;
}

/* Position of (zone, ct) in s: its index when present (*found = 1), else where it goes. */
static size_t slot_find(const struct slot *s, unsigned zone, unsigned ct, int *found)
{
    size_t i = 0;
    *found = 0;
    while (i < s->n && (s->v[i].zone < zone || (s->v[i].zone == zone && s->v[i].ct < ct)))
        i++;
    if (i < s->n && s->v[i].zone == zone && s->v[i].ct == ct)
        *found = 1;
    return i;
}

/* The slot of a type name, or NULL when the catalog does not know it. */
static struct slot *slot_of(const struct launcher_offerings *o, const char *type)
{
    const struct launcher_itype *t = launcher_catalog_find(o->cat, type);
    if (!t || t->index >= o->nslots)
        return NULL;
    return &o->slots[t->index];
}

int launcher_offerings_set(struct launcher_offerings *o, const char *type, const char *zone,
                           enum launcher_ct ct, double price_usd_hr, struct core_err *err)
{
    struct slot *s;
    char *zcopy = NULL;
    int zi, found;
    size_t pos;

    if (!o || !type || !zone || !ct_valid(ct))
        return core_err_set(err, CORE_E_INVAL, "offerings: set needs offerings, type, zone "
                            "and a capacity type");
    if (!(price_usd_hr > 0) || !isfinite(price_usd_hr))
        return core_err_set(err, CORE_E_INVAL, "offerings: %.64s in %.64s: price must be > 0",
                            type, zone);
    if (!zone[0] || strlen(zone) >= ZONE_NAME_MAX)
        return core_err_set(err, CORE_E_INVAL, "offerings: zone name must have 1 to %u bytes",
                            ZONE_NAME_MAX - 1);
    s = slot_of(o, type);
    if (!s)
        return core_err_set(err, CORE_E_NOTFOUND, "offerings: instance type \"%.64s\" is not "
                            "in the catalog", type);
    zi = launcher_offerings_zone_index(o, zone);
    if (zi < 0) {
        if (o->nzones >= LAUNCHER_MAX_ZONES)
            return core_err_set(err, CORE_E_TOOBIG, "offerings: zone \"%.64s\" would be zone "
                                "%u; at most %u are supported", zone,
                                (unsigned)LAUNCHER_MAX_ZONES + 1, (unsigned)LAUNCHER_MAX_ZONES);
        zcopy = core_strdup(zone);
        if (!zcopy)
            return core_err_set(err, CORE_E_NOMEM, "offerings: out of memory");
        zi = (int)o->nzones;
    }
    pos = slot_find(s, (unsigned)zi, (unsigned)ct, &found);
    if (found) {
        /* A new price does not clear a capacity error: they are independent facts. */
        s->v[pos].price = price_usd_hr;
        return 0;
    }
    if (s->n == s->cap) {
        /* At most LAUNCHER_MAX_ZONES × LAUNCHER_CT_COUNT (64) offers per type. */
        uint8_t cap = s->cap ? (uint8_t)(s->cap * 2) : 2;
        struct launcher_offer *v = core_realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) {
            core_free(zcopy);
            return core_err_set(err, CORE_E_NOMEM, "offerings: out of memory");
        }
        s->v = v;
        s->cap = cap;
    }
    memmove(&s->v[pos + 1], &s->v[pos], (s->n - pos) * sizeof *s->v);
    s->v[pos] = (struct launcher_offer){(uint8_t)zi, (uint8_t)ct, price_usd_hr, 0};
    s->n++;
    if (zcopy)
        o->zones[o->nzones++] = zcopy;
    return 0;
}

int launcher_offerings_default(const struct launcher_catalog *cat, const char *region,
                               const char *const *zones, size_t nzones, double spot_discount,
                               struct launcher_offerings **out, struct core_err *err)
{
    struct launcher_offerings *o = NULL;
    int spot, rc;

    if (!cat || !region || !out || (nzones && !zones))
        return core_err_set(err, CORE_E_INVAL, "offerings: catalog, region, zones and out are "
                            "required");
    if (!(spot_discount >= 0 && spot_discount < 1))
        return core_err_set(err, CORE_E_INVAL, "offerings: spot discount must be in [0, 1)");
    if (nzones > LAUNCHER_MAX_ZONES)
        return core_err_set(err, CORE_E_TOOBIG, "offerings: %zu zones; at most %u are "
                            "supported", nzones, (unsigned)LAUNCHER_MAX_ZONES);
    for (size_t i = 0; i < nzones; i++) {
        if (!zones[i] || !zones[i][0] || strlen(zones[i]) >= ZONE_NAME_MAX)
            return core_err_set(err, CORE_E_INVAL, "offerings: zones[%zu]: a zone name must "
                                "have 1 to %u bytes", i, ZONE_NAME_MAX - 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(zones[i], zones[j]) == 0)
                return core_err_set(err, CORE_E_INVAL, "offerings: zone \"%.64s\" is listed "
                                    "twice", zones[i]);
    }
    if ((rc = launcher_offerings_new(cat, region, &o, err)) != 0)
        return rc;
    for (size_t i = 0; i < nzones; i++) {
        o->zones[i] = core_strdup(zones[i]);
        if (!o->zones[i])
            goto nomem;
        o->nzones = i + 1;
    }
    spot = spot_discount > 0;
    for (size_t ti = 0; ti < o->nslots && nzones; ti++) {
        const struct launcher_itype *t = launcher_catalog_at(cat, ti);
        struct slot *s = &o->slots[ti];
        int with_spot = spot && t->spot_supported;
        size_t n = nzones * (with_spot ? 2u : 1u);
        if (!(t->od_price_usd_hr > 0))
            continue;
        s->v = core_calloc(n, sizeof *s->v);
        if (!s->v)
            goto nomem;
        s->cap = (uint8_t)n;
        for (size_t z = 0; z < nzones; z++) {
            s->v[s->n++] = (struct launcher_offer){(uint8_t)z, LAUNCHER_ON_DEMAND,
                                                   t->od_price_usd_hr, 0};
            if (with_spot)
                s->v[s->n++] = (struct launcher_offer){
                    (uint8_t)z, LAUNCHER_SPOT, t->od_price_usd_hr * (1 - spot_discount), 0};
        }
    }
    *out = o;
    return 0;
nomem:
    launcher_offerings_free(o);
    return core_err_set(err, CORE_E_NOMEM, "offerings: out of memory");
}

/* The offer (ct, type, zone), or NULL. */
static struct launcher_offer *offer_find(const struct launcher_offerings *o, enum launcher_ct ct,
                                         const char *type, const char *zone)
{
    struct slot *s;
    int zi, found;
    size_t pos;

    if (!o || !type || !zone || !ct_valid(ct))
        return NULL;
    s = slot_of(o, type);
    zi = launcher_offerings_zone_index(o, zone);
    if (!s || zi < 0)
        return NULL;
    pos = slot_find(s, (unsigned)zi, (unsigned)ct, &found);
    return found ? &s->v[pos] : NULL;
}

int launcher_offerings_mark_unavailable(struct launcher_offerings *o, enum launcher_ct ct,
                                        const char *type, const char *zone, core_ns now,
                                        core_ns ttl)
{
    struct launcher_offer *f;

    if (!o || !type || !zone || !ct_valid(ct))
        return CORE_E_INVAL;
    f = offer_find(o, ct, type, zone);
    if (!f)
        return 0;
    if (ttl <= 0)
        ttl = LAUNCHER_ICE_TTL_DEFAULT;
    /* Saturate rather than wrap: a far deadline must not become one in the past. */
    f->unavailable_until = now > INT64_MAX - ttl ? INT64_MAX : now + ttl;
    return 0;
}

int launcher_offerings_lookup(const struct launcher_offerings *o, enum launcher_ct ct,
                              const char *type, const char *zone, core_ns now, double *price)
{
    const struct launcher_offer *f = offer_find(o, ct, type, zone);

    if (!f || now < f->unavailable_until)
        return 0;
    if (price)
        *price = f->price;
    return 1;
}

const struct launcher_offer *launcher_offerings_of(const struct launcher_offerings *o, size_t ti,
                                                   size_t *n)
{
    if (!o || ti >= o->nslots || o->slots[ti].n == 0) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = o->slots[ti].n;
    return o->slots[ti].v;
}

const struct launcher_catalog *launcher_offerings_catalog(const struct launcher_offerings *o)
{
    return o ? o->cat : NULL;
}

const char *launcher_offerings_region(const struct launcher_offerings *o)
{
    return o ? o->region : NULL;
}

size_t launcher_offerings_zone_count(const struct launcher_offerings *o)
{
    return o ? o->nzones : 0;
}

const char *launcher_offerings_zone(const struct launcher_offerings *o, size_t i)
{
    return o && i < o->nzones ? o->zones[i] : NULL;
}
