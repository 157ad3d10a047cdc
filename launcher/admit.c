/*
 * launcher/admit.c — whether requirements as written (a NodePool's, a NodeClaim's) admit one
 * instance type in a zone with a capacity type, for callers outside the scheduler (warm pools)
 * that need a yes/no and the requirement that said no.
 *
 * Invariants:
 *  - The requirements are intersected per key first (launcher_reqs_add), so "the first refusing
 *    requirement" is described as the merged set for its key, in the order the keys are first
 *    written.
 *  - Keys the type, the zone or the capacity type cannot answer (custom labels, the NodePool
 *    key, hostname, ...) admit, unless their intersection is empty: nothing could then launch.
 *  - Pure: no I/O, no clock, no logging.
 */
#include "launcher/internal.h"

#include <string.h>

static void describe(const struct launcher_req *q, char *why, size_t whysz)
{
    struct core_buf b;
    if (!why || whysz == 0)
        return;
    core_buf_init(&b, whysz > 1 ? whysz - 1 : 1);
    if (launcher_req_describe(q, &b) != 0 && b.len == 0)
        core_strlcpy(why, q->key, whysz);
    else
        core_strlcpy(why, core_buf_cstr(&b), whysz);
    core_buf_cleanup(&b);
}

/* Whether the merged entry q refuses the candidate; keys nobody here can answer only refuse
 * when nothing at all satisfies them. */
static int refuses(const struct launcher_req *q, const struct launcher_itype *t, const char *zone,
                   const char *ct)
{
    if (q->label >= 0)
        return !launcher_req_allows(q, t->labels[q->label]);
    if (strcmp(q->key, LAUNCHER_KEY_ZONE) == 0)
        return zone ? !launcher_req_allows(q, zone) : launcher_req_empty(q);
    if (strcmp(q->key, LAUNCHER_KEY_CAPACITY_TYPE) == 0)
        return !launcher_req_allows(q, ct);
    return launcher_req_empty(q);
}

int launcher_requirements_admit(const struct k8s_requirement *reqs, size_t n,
                                const struct launcher_itype *t, const char *zone,
                                enum launcher_ct ct, char *why, size_t whysz,
                                struct core_err *err)
{
    struct launcher_reqs r = {NULL, 0};
    const char *ctname = launcher_ct_name(ct);
    int rc = 1;

    if (!t || (n > 0 && !reqs))
        return core_err_set(err, CORE_E_INVAL, "requirements: NULL argument");
    if (why && whysz)
        why[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int arc = launcher_reqs_add(&r, &reqs[i], err);
        if (arc != 0) {
            rc = arc;
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct launcher_req *q = launcher_reqs_get(&r, reqs[i].key);
        if (q && refuses(q, t, zone, ctname ? ctname : "")) {
            describe(q, why, whysz);
            rc = 0;
            goto out;
        }
    }
out:
    launcher_reqs_cleanup(&r);
    return rc;
}
