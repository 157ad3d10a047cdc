/*
 * tests/unit/test_launcher_volumes.c — volume topology (launcher_volume_topology): a table of
 * pods, PVCs, PVs and StorageClasses decoded from small JSON documents, each with the exact
 * reason or the exact alternatives (rendered with launcher_req_describe) expected; then the cap
 * on alternatives, argument checks, and allocation-failure injection over a case that crosses
 * several volumes.
 *
 * The JSON in the tables uses single quotes for readability; load() turns them into double
 * quotes before parsing (no document here needs a literal single quote).
 */
#include "tests/unit/harness.h"

#include "launcher/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define ZONE "topology.kubernetes.io/zone"

/* ---- documents ---------------------------------------------------------------------------- */

/* A pod "p" in namespace "ns" whose volumes are the given JSON array. */
#define POD(vols) "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':[{'name':'c'}],'volumes':" vols "}}"
#define VOL(claim) "{'name':'v-" claim "','persistentVolumeClaim':{'claimName':'" claim "'}}"

/* A PVC bound to a PV (uid "u-<name>"). */
#define PVC_BOUND(name, pv) \
    "{'metadata':{'name':'" name "','namespace':'ns','uid':'u-" name "'},'spec':{'volumeName':'" pv "'}}"
/* An unbound PVC of a class; PVC_NOCLASS omits storageClassName. */
#define PVC_CLASS(name, sc) \
    "{'metadata':{'name':'" name "','namespace':'ns'},'spec':{'storageClassName':'" sc "'}}"
#define PVC_NOCLASS(name) "{'metadata':{'name':'" name "','namespace':'ns'},'spec':{}}"

/* A PV claimed by ns/<claim> with node affinity terms (a JSON array of nodeSelectorTerms). */
#define PV(name, claim, terms) \
    "{'metadata':{'name':'" name "'},'spec':{'claimRef':{'namespace':'ns','name':'" claim "'}," \
    "'nodeAffinity':{'required':{'nodeSelectorTerms':" terms "}}}}"
#define TERM(key, vals) "{'matchExpressions':[{'key':'" key "','operator':'In','values':" vals "}]}"
#define ZTERM(vals) TERM(ZONE, vals)

/* StorageClasses: binding mode, and allowedTopologies (a JSON array of terms). */
#define SC(name, mode) \
    "{'metadata':{'name':'" name "'},'provisioner':'ebs.csi.aws.com','volumeBindingMode':'" mode "'}"
#define SC_TOPO(name, topo) \
    "{'metadata':{'name':'" name "'},'provisioner':'ebs.csi.aws.com'," \
    "'volumeBindingMode':'WaitForFirstConsumer','allowedTopologies':" topo "}"
#define TOPO(key, vals) "{'matchLabelExpressions':[{'key':'" key "','values':" vals "}]}"

/* ---- fixture ------------------------------------------------------------------------------ */

#define MAXDOC 8

struct fixture {
    struct k8s_pod pod;
    struct k8s_pvc pvcs[MAXDOC];
    struct k8s_pv pvs[MAXDOC];
    struct k8s_storage_class scs[MAXDOC];
    const struct k8s_pvc *pvcp[MAXDOC];
    const struct k8s_pv *pvp[MAXDOC];
    const struct k8s_storage_class *scp[MAXDOC];
    struct launcher_sched_input in;
};

static json_t *load(const char *doc)
{
    char buf[8192];
    size_t n = strlen(doc);
    CU_ASSERT_FATAL(n < sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = doc[i] == '\'' ? '"' : doc[i];
    json_error_t jerr;
    json_t *j = json_loads(buf, 0, &jerr);
    if (!j)
        fprintf(stderr, "bad test JSON: %s: %s\n", jerr.text, buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

#define DECODE(fn, doc, dst)                                                                   \
    do {                                                                                       \
        json_t *j_ = load(doc);                                                                \
        struct core_err e_;                                                                    \
        core_err_clear(&e_);                                                                   \
        int rc_ = fn(j_, (dst), &e_);                                                          \
        if (rc_ != 0)                                                                          \
            fprintf(stderr, "decode: %s\n", e_.message);                                       \
        json_decref(j_);                                                                       \
        CU_ASSERT_EQUAL_FATAL(rc_, 0);                                                         \
    } while (0)

static void fixture_load(struct fixture *f, const char *pod, const char *const *pvcs,
                         const char *const *pvs, const char *const *scs)
{
    memset(f, 0, sizeof(*f));
    DECODE(k8s_pod_decode, pod, &f->pod);
    for (size_t i = 0; pvcs && i < MAXDOC && pvcs[i]; i++) {
        DECODE(k8s_pvc_decode, pvcs[i], &f->pvcs[i]);
        f->pvcp[f->in.npvcs++] = &f->pvcs[i];
    }
    for (size_t i = 0; pvs && i < MAXDOC && pvs[i]; i++) {
        DECODE(k8s_pv_decode, pvs[i], &f->pvs[i]);
        f->pvp[f->in.npvs++] = &f->pvs[i];
    }
    for (size_t i = 0; scs && i < MAXDOC && scs[i]; i++) {
        DECODE(k8s_storage_class_decode, scs[i], &f->scs[i]);
        f->scp[f->in.nstorage_classes++] = &f->scs[i];
    }
    f->in.pvcs = f->pvcp;
    f->in.pvs = f->pvp;
    f->in.storage_classes = f->scp;
}

static void fixture_cleanup(struct fixture *f)
{
    k8s_pod_cleanup(&f->pod);
    for (size_t i = 0; i < MAXDOC; i++) {
        k8s_pvc_cleanup(&f->pvcs[i]);
        k8s_pv_cleanup(&f->pvs[i]);
        k8s_storage_class_cleanup(&f->scs[i]);
    }
}

/* One alternative as "k1 In [a b], k2 Exists" (keys in the set's order). */
static void render(const struct launcher_reqs *r, char *out, size_t outsz)
{
    struct core_buf b;
    core_buf_init(&b, 4096);
    for (size_t i = 0; i < r->n; i++) {
        if (i > 0)
            CU_ASSERT_EQUAL(core_buf_append_str(&b, ", "), 0);
        CU_ASSERT_EQUAL(launcher_req_describe(&r->v[i], &b), 0);
    }
    core_strlcpy(out, core_buf_cstr(&b), outsz);
    core_buf_cleanup(&b);
}

/* ---- the table ---------------------------------------------------------------------------- */

struct vcase {
    const char *name;
    const char *pod;
    const char *pvcs[MAXDOC];
    const char *pvs[MAXDOC];
    const char *scs[MAXDOC];
    const char *reason;  /* expected reason, or NULL for none */
    const char *alts[8]; /* expected alternatives, in order (NULL-terminated) */
};

static const struct vcase cases[] = {
    {"no claims", POD("[{'name':'tmp','emptyDir':{}}]"), {NULL}, {NULL}, {NULL}, NULL, {NULL}},
    {"bound, PV zone affinity",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {PV("pv-1", "data", "[" ZTERM("['us-east-1a','us-east-1b']") "]")},
     {NULL},
     NULL,
     {ZONE " In [us-east-1a us-east-1b]"}},
    {"bound, PV affinity on the EBS CSI zone key normalises",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {PV("pv-1", "data", "[" TERM("topology.ebs.csi.aws.com/zone", "['us-east-1c']") "]")},
     {NULL},
     NULL,
     {ZONE " In [us-east-1c]"}},
    {"bound, PV with two terms gives two alternatives",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {PV("pv-1", "data", "[" ZTERM("['us-east-1a']") "," ZTERM("['us-east-1b']") "]")},
     {NULL},
     NULL,
     {ZONE " In [us-east-1a]", ZONE " In [us-east-1b]"}},
    {"bound, a term's expressions are intersected",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {PV("pv-1", "data",
         "[{'matchExpressions':[{'key':'" ZONE "','operator':'In','values':['us-east-1a','us-east-1b']},"
         "{'key':'topology.ebs.csi.aws.com/zone','operator':'NotIn','values':['us-east-1a']},"
         "{'key':'kubernetes.io/arch','operator':'In','values':['arm64']}]}]")},
     {NULL},
     NULL,
     {"kubernetes.io/arch In [arm64], " ZONE " In [us-east-1b]"}},
    {"bound, PV without node affinity constrains nothing",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {"{'metadata':{'name':'pv-1'},'spec':{'claimRef':{'namespace':'ns','name':'data'}}}"},
     {NULL},
     NULL,
     {NULL}},
    {"bound, matchFields term dropped, the other kept",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {PV("pv-1", "data",
         "[{'matchFields':[{'key':'metadata.name','operator':'In','values':['ip-10-0-0-1']}]},"
         ZTERM("['us-east-1b']") "]")},
     {NULL},
     NULL,
     {ZONE " In [us-east-1b]"}},
    {"bound, only matchFields terms: unschedulable",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {PV("pv-1", "data",
         "[{'matchExpressions':[{'key':'" ZONE "','operator':'In','values':['us-east-1a']}],"
         "'matchFields':[{'key':'metadata.name','operator':'In','values':['ip-10-0-0-1']}]}]")},
     {NULL},
     "persistentvolume \"pv-1\" of persistentvolumeclaim \"ns/data\" has no node affinity term "
     "a new node can satisfy",
     {NULL}},
    {"bound, self-contradictory term dropped",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {PV("pv-1", "data",
         "[{'matchExpressions':[{'key':'" ZONE "','operator':'In','values':['us-east-1a']},"
         "{'key':'" ZONE "','operator':'NotIn','values':['us-east-1a']}]},"
         ZTERM("['us-east-1d']") "]")},
     {NULL},
     NULL,
     {ZONE " In [us-east-1d]"}},
    {"bound to a PV claimed by another claim",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {PV("pv-1", "other", "[" ZTERM("['us-east-1a']") "]")},
     {NULL},
     "persistentvolumeclaim \"ns/data\" is bound to \"pv-1\" claimed by another claim",
     {NULL}},
    {"bound to a PV claimed by an earlier claim of the same name (uid differs)",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {"{'metadata':{'name':'pv-1'},'spec':{'claimRef':{'namespace':'ns','name':'data','uid':'old'}}}"},
     {NULL},
     "persistentvolumeclaim \"ns/data\" is bound to \"pv-1\" claimed by another claim",
     {NULL}},
    {"bound to a PV whose claimRef names it with its uid",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-1")},
     {"{'metadata':{'name':'pv-1'},'spec':{'claimRef':{'namespace':'ns','name':'data','uid':'u-data'},"
      "'nodeAffinity':{'required':{'nodeSelectorTerms':[" ZTERM("['us-east-1f']") "]}}}}"},
     {NULL},
     NULL,
     {ZONE " In [us-east-1f]"}},
    {"PVC not found",
     POD("[" VOL("data") "]"),
     {NULL},
     {NULL},
     {NULL},
     "persistentvolumeclaim \"ns/data\" not found",
     {NULL}},
    {"PVC of the same name in another namespace does not count",
     POD("[" VOL("data") "]"),
     {"{'metadata':{'name':'data','namespace':'other'},'spec':{'volumeName':'pv-1'}}"},
     {NULL},
     {NULL},
     "persistentvolumeclaim \"ns/data\" not found",
     {NULL}},
    {"PV not found",
     POD("[" VOL("data") "]"),
     {PVC_BOUND("data", "pv-9")},
     {PV("pv-1", "data", "[" ZTERM("['us-east-1a']") "]")},
     {NULL},
     "persistentvolume \"pv-9\" of persistentvolumeclaim \"ns/data\" not found",
     {NULL}},
    {"PVC being deleted",
     POD("[" VOL("data") "]"),
     {"{'metadata':{'name':'data','namespace':'ns','deletionTimestamp':'2024-05-01T00:00:00Z',"
      "'finalizers':['kubernetes.io/pvc-protection']},'spec':{'volumeName':'pv-1'}}"},
     {PV("pv-1", "data", "[" ZTERM("['us-east-1a']") "]")},
     {NULL},
     "persistentvolumeclaim \"ns/data\" is being deleted",
     {NULL}},
    {"unbound, class binds Immediately",
     POD("[" VOL("data") "]"),
     {PVC_CLASS("data", "gp2")},
     {NULL},
     {SC("gp2", "Immediate")},
     "persistentvolumeclaim \"ns/data\" is unbound and its storage class \"gp2\" binds "
     "Immediately",
     {NULL}},
    {"unbound, class without volumeBindingMode binds Immediately",
     POD("[" VOL("data") "]"),
     {PVC_CLASS("data", "gp2")},
     {NULL},
     {"{'metadata':{'name':'gp2'},'provisioner':'kubernetes.io/aws-ebs'}"},
     "persistentvolumeclaim \"ns/data\" is unbound and its storage class \"gp2\" binds "
     "Immediately",
     {NULL}},
    {"unbound, class not found",
     POD("[" VOL("data") "]"),
     {PVC_CLASS("data", "fast")},
     {NULL},
     {SC("gp3", "WaitForFirstConsumer")},
     "storage class \"fast\" of persistentvolumeclaim \"ns/data\" not found",
     {NULL}},
    {"unbound, no class at all (\"\")",
     POD("[" VOL("data") "]"),
     {PVC_CLASS("data", "")},
     {NULL},
     {SC("gp3", "WaitForFirstConsumer")},
     "persistentvolumeclaim \"ns/data\" is unbound and has no storage class",
     {NULL}},
    {"unbound, WaitForFirstConsumer without allowedTopologies constrains nothing",
     POD("[" VOL("data") "]"),
     {PVC_CLASS("data", "gp3")},
     {NULL},
     {SC("gp3", "WaitForFirstConsumer")},
     NULL,
     {NULL}},
    {"unbound, WaitForFirstConsumer with allowedTopologies: one alternative per term",
     POD("[" VOL("data") "]"),
     {PVC_CLASS("data", "gp3")},
     {NULL},
     {SC_TOPO("gp3", "[" TOPO("topology.ebs.csi.aws.com/zone", "['us-east-1a','us-east-1b']") ","
              TOPO(ZONE, "['us-east-1d']") "]")},
     NULL,
     {ZONE " In [us-east-1a us-east-1b]", ZONE " In [us-east-1d]"}},
    {"unbound, the selected-node annotation is ignored",
     POD("[" VOL("data") "]"),
     {"{'metadata':{'name':'data','namespace':'ns','annotations':"
      "{'volume.kubernetes.io/selected-node':'ip-10-0-0-1'}},'spec':{'storageClassName':'gp3'}}"},
     {NULL},
     {SC_TOPO("gp3", "[" TOPO(ZONE, "['us-east-1a']") "]")},
     NULL,
     {ZONE " In [us-east-1a]"}},
    {"default class by annotation",
     POD("[" VOL("data") "]"),
     {PVC_NOCLASS("data")},
     {NULL},
     {SC("gp2", "Immediate"),
      "{'metadata':{'name':'gp3','annotations':{'storageclass.kubernetes.io/is-default-class':'true'}},"
      "'provisioner':'ebs.csi.aws.com','volumeBindingMode':'WaitForFirstConsumer',"
      "'allowedTopologies':[" TOPO(ZONE, "['us-east-1b']") "]}"},
     NULL,
     {ZONE " In [us-east-1b]"}},
    {"two defaults: the newest wins",
     POD("[" VOL("data") "]"),
     {PVC_NOCLASS("data")},
     {NULL},
     {"{'metadata':{'name':'new','creationTimestamp':'2024-03-01T00:00:00Z','annotations':"
      "{'storageclass.kubernetes.io/is-default-class':'true'}},'volumeBindingMode':'Immediate'}",
      "{'metadata':{'name':'old','creationTimestamp':'2021-03-01T00:00:00Z','annotations':"
      "{'storageclass.kubernetes.io/is-default-class':'true'}},'volumeBindingMode':'WaitForFirstConsumer'}"},
     "persistentvolumeclaim \"ns/data\" is unbound and its storage class \"new\" binds "
     "Immediately",
     {NULL}},
    {"two defaults created together: the first by name wins",
     POD("[" VOL("data") "]"),
     {PVC_NOCLASS("data")},
     {NULL},
     {"{'metadata':{'name':'zz','creationTimestamp':'2024-03-01T00:00:00Z','annotations':"
      "{'storageclass.kubernetes.io/is-default-class':'true'}},'volumeBindingMode':'Immediate'}",
      "{'metadata':{'name':'aa','creationTimestamp':'2024-03-01T00:00:00Z','annotations':"
      "{'storageclass.kubernetes.io/is-default-class':'true'}},'volumeBindingMode':'WaitForFirstConsumer'}"},
     NULL,
     {NULL}},
    {"annotation other than \"true\" is no default",
     POD("[" VOL("data") "]"),
     {PVC_NOCLASS("data")},
     {NULL},
     {"{'metadata':{'name':'gp3','annotations':{'storageclass.kubernetes.io/is-default-class':'false'}},"
      "'volumeBindingMode':'WaitForFirstConsumer'}"},
     "persistentvolumeclaim \"ns/data\" is unbound, names no storage class and there is no "
     "default storage class",
     {NULL}},
    {"two volumes in different zones do not intersect",
     POD("[" VOL("a") "," VOL("b") "]"),
     {PVC_BOUND("a", "pv-a"), PVC_BOUND("b", "pv-b")},
     {PV("pv-a", "a", "[" ZTERM("['us-east-1a']") "]"),
      PV("pv-b", "b", "[" ZTERM("['us-east-1b']") "]")},
     {NULL},
     "the volumes' topologies do not intersect: " ZONE " In [us-east-1a] vs " ZONE
     " In [us-east-1b]",
     {NULL}},
    {"two volumes in overlapping zone sets: the intersection",
     POD("[" VOL("a") "," VOL("b") "]"),
     {PVC_BOUND("a", "pv-a"), PVC_BOUND("b", "pv-b")},
     {PV("pv-a", "a", "[" ZTERM("['us-east-1a','us-east-1b']") "]"),
      PV("pv-b", "b", "[" TERM("topology.ebs.csi.aws.com/zone", "['us-east-1b','us-east-1c']") "]")},
     {NULL},
     NULL,
     {ZONE " In [us-east-1b]"}},
    {"bound and WaitForFirstConsumer volumes: cross product, empty pairs dropped",
     POD("[" VOL("a") "," VOL("b") "]"),
     {PVC_BOUND("a", "pv-a"), PVC_CLASS("b", "gp3")},
     {PV("pv-a", "a", "[" ZTERM("['us-east-1a','us-east-1b']") "," ZTERM("['us-east-1c']") "]")},
     {SC_TOPO("gp3", "[" TOPO(ZONE, "['us-east-1b']") "," TOPO(ZONE, "['us-east-1a','us-east-1c']") "]")},
     NULL,
     {ZONE " In [us-east-1b]", ZONE " In [us-east-1a]", ZONE " In [us-east-1c]"}},
    {"a volume without constraint leaves the other's alternatives",
     POD("[" VOL("a") "," VOL("b") "]"),
     {PVC_CLASS("a", "gp3"), PVC_BOUND("b", "pv-b")},
     {PV("pv-b", "b", "[" ZTERM("['us-east-1a']") "," ZTERM("['us-east-1b']") "]")},
     {SC("gp3", "WaitForFirstConsumer")},
     NULL,
     {ZONE " In [us-east-1a]", ZONE " In [us-east-1b]"}},
    {"a missing claim outranks a conflict between earlier volumes",
     POD("[" VOL("a") "," VOL("b") "," VOL("c") "]"),
     {PVC_BOUND("a", "pv-a"), PVC_BOUND("b", "pv-b")},
     {PV("pv-a", "a", "[" ZTERM("['us-east-1a']") "]"),
      PV("pv-b", "b", "[" ZTERM("['us-east-1b']") "]")},
     {NULL},
     "persistentvolumeclaim \"ns/c\" not found",
     {NULL}},
    {"the same claim twice counts once (not crossed with itself)",
     POD("[" VOL("a") "," VOL("a") "]"),
     {PVC_BOUND("a", "pv-a")},
     {PV("pv-a", "a", "[" ZTERM("['us-east-1a','us-east-1b']") "," ZTERM("['us-east-1b','us-east-1c']") "]")},
     {NULL},
     NULL,
     {ZONE " In [us-east-1a us-east-1b]", ZONE " In [us-east-1b us-east-1c]"}},
    {"generic ephemeral volume resolves its <pod>-<volume> claim",
     "{'metadata':{'name':'web-0','namespace':'ns'},'spec':{'containers':[{'name':'c'}],"
     "'volumes':[{'name':'scratch','ephemeral':{'volumeClaimTemplate':{'spec':"
     "{'storageClassName':'gp3','accessModes':['ReadWriteOnce']}}}}]}}",
     {PVC_CLASS("web-0-scratch", "gp3")},
     {NULL},
     {SC_TOPO("gp3", "[" TOPO(ZONE, "['us-east-1c']") "]")},
     NULL,
     {ZONE " In [us-east-1c]"}},
    {"generic ephemeral volume whose claim is not created yet",
     "{'metadata':{'name':'web-0','namespace':'ns'},'spec':{'containers':[{'name':'c'}],"
     "'volumes':[{'name':'scratch','ephemeral':{'volumeClaimTemplate':{'spec':{}}}}]}}",
     {NULL},
     {NULL},
     {NULL},
     "persistentvolumeclaim \"ns/web-0-scratch\" not found",
     {NULL}},
    {"pod without namespace looks in default",
     "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c'}],'volumes':[" VOL("data") "]}}",
     {"{'metadata':{'name':'data','namespace':'default'},'spec':{'volumeName':'pv-1'}}"},
     {"{'metadata':{'name':'pv-1'},'spec':{'claimRef':{'namespace':'default','name':'data'},"
      "'nodeAffinity':{'required':{'nodeSelectorTerms':[" ZTERM("['us-east-1a']") "]}}}}"},
     {NULL},
     NULL,
     {ZONE " In [us-east-1a]"}},
};

static void run_case(const struct vcase *c)
{
    struct fixture f;
    struct launcher_volume_topo t;
    struct core_err err;
    core_err_clear(&err);
    fixture_load(&f, c->pod, c->pvcs, c->pvs, c->scs);
    int rc = launcher_volume_topology(&f.pod, &f.in, &t, &err);
    if (rc != 0)
        fprintf(stderr, "case '%s': %s\n", c->name, err.message);
    CU_ASSERT_EQUAL_FATAL(rc, 0);

    size_t want = 0;
    while (want < 8 && c->alts[want])
        want++;
    int ok = strcmp(t.reason, c->reason ? c->reason : "") == 0 && t.nalts == want;
    for (size_t i = 0; ok && i < want; i++) {
        char got[1024];
        render(&t.alts[i], got, sizeof(got));
        if (strcmp(got, c->alts[i]) != 0) {
            fprintf(stderr, "case '%s': alternative %zu: got '%s', want '%s'\n", c->name, i,
                    got, c->alts[i]);
            ok = 0;
        }
    }
    if (!ok) {
        fprintf(stderr, "case '%s': got reason '%s' and %zu alternatives\n", c->name, t.reason,
                t.nalts);
        for (size_t i = 0; i < t.nalts; i++) {
            char got[1024];
            render(&t.alts[i], got, sizeof(got));
            fprintf(stderr, "    [%zu] %s\n", i, got);
        }
    }
    CU_ASSERT(ok);
    launcher_volume_topo_cleanup(&t);
    CU_ASSERT_EQUAL(t.nalts, 0);
    CU_ASSERT_PTR_NULL(t.alts);
    fixture_cleanup(&f);
}

static void test_table(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

/* ---- the cap ------------------------------------------------------------------------------ */

/* n nodeSelectorTerms on zone z-<i> (or, with key2, on two keys so products stay non-empty). */
static void terms_json(struct core_buf *b, size_t n, const char *key, int topo)
{
    CU_ASSERT_EQUAL(core_buf_append_char(b, '['), 0);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(core_buf_appendf(b,
                                         topo ? "%s{'matchLabelExpressions':[{'key':'%s','values':['z-%02zu']}]}"
                                              : "%s{'matchExpressions':[{'key':'%s','operator':'In','values':['z-%02zu']}]}",
                                         i ? "," : "", key, i),
                        0);
    CU_ASSERT_EQUAL(core_buf_append_char(b, ']'), 0);
}

static void test_cap_one_volume(void)
{
    /* A PV with 20 terms: the first 16, in order. */
    struct core_buf terms, pv;
    core_buf_init(&terms, 8192);
    core_buf_init(&pv, 8192);
    terms_json(&terms, 20, ZONE, 0);
    CU_ASSERT_EQUAL_FATAL(core_buf_appendf(&pv,
                                           "{'metadata':{'name':'pv-1'},'spec':{'claimRef':{'namespace':'ns','name':'data'},"
                                           "'nodeAffinity':{'required':{'nodeSelectorTerms':%s}}}}",
                                           core_buf_cstr(&terms)),
                          0);
    const char *pvcs[] = {PVC_BOUND("data", "pv-1"), NULL};
    const char *pvs[] = {core_buf_cstr(&pv), NULL};
    struct fixture f;
    fixture_load(&f, POD("[" VOL("data") "]"), pvcs, pvs, NULL);
    struct launcher_volume_topo t;
    CU_ASSERT_EQUAL_FATAL(launcher_volume_topology(&f.pod, &f.in, &t, NULL), 0);
    CU_ASSERT_STRING_EQUAL(t.reason, "");
    CU_ASSERT_EQUAL_FATAL(t.nalts, LAUNCHER_VOLUME_MAX_ALTS);
    for (size_t i = 0; i < t.nalts; i++) {
        char got[256], want[256];
        render(&t.alts[i], got, sizeof(got));
        snprintf(want, sizeof(want), ZONE " In [z-%02zu]", i);
        CU_ASSERT_STRING_EQUAL(got, want);
    }
    launcher_volume_topo_cleanup(&t);
    fixture_cleanup(&f);
    core_buf_cleanup(&terms);
    core_buf_cleanup(&pv);
}

static void test_cap_cross_product(void)
{
    /* 5 zone terms × 5 arch-like terms on another key = 25 non-empty pairs: the first 16 in
     * (first volume, second volume) order. */
    struct core_buf t1, t2, pv, sc;
    core_buf_init(&t1, 8192);
    core_buf_init(&t2, 8192);
    core_buf_init(&pv, 8192);
    core_buf_init(&sc, 8192);
    terms_json(&t1, 5, ZONE, 0);
    terms_json(&t2, 5, "example.com/rack", 1);
    CU_ASSERT_EQUAL_FATAL(core_buf_appendf(&pv,
                                           "{'metadata':{'name':'pv-1'},'spec':{'claimRef':{'namespace':'ns','name':'a'},"
                                           "'nodeAffinity':{'required':{'nodeSelectorTerms':%s}}}}",
                                           core_buf_cstr(&t1)),
                          0);
    CU_ASSERT_EQUAL_FATAL(core_buf_appendf(&sc,
                                           "{'metadata':{'name':'gp3'},'volumeBindingMode':'WaitForFirstConsumer',"
                                           "'allowedTopologies':%s}",
                                           core_buf_cstr(&t2)),
                          0);
    const char *pvcs[] = {PVC_BOUND("a", "pv-1"), PVC_CLASS("b", "gp3"), NULL};
    const char *pvs[] = {core_buf_cstr(&pv), NULL};
    const char *scs[] = {core_buf_cstr(&sc), NULL};
    struct fixture f;
    fixture_load(&f, POD("[" VOL("a") "," VOL("b") "]"), pvcs, pvs, scs);
    struct launcher_volume_topo t;
    CU_ASSERT_EQUAL_FATAL(launcher_volume_topology(&f.pod, &f.in, &t, NULL), 0);
    CU_ASSERT_STRING_EQUAL(t.reason, "");
    CU_ASSERT_EQUAL_FATAL(t.nalts, LAUNCHER_VOLUME_MAX_ALTS);
    for (size_t i = 0; i < t.nalts; i++) {
        char got[256], want[256];
        render(&t.alts[i], got, sizeof(got));
        snprintf(want, sizeof(want), "example.com/rack In [z-%02zu], " ZONE " In [z-%02zu]",
                 i % 5, i / 5);
        CU_ASSERT_STRING_EQUAL(got, want);
    }
    launcher_volume_topo_cleanup(&t);
    fixture_cleanup(&f);
    core_buf_cleanup(&t1);
    core_buf_cleanup(&t2);
    core_buf_cleanup(&pv);
    core_buf_cleanup(&sc);
}

/* ---- arguments, out-parameters, allocation failures --------------------------------------- */

static void test_invalid_arguments(void)
{
    struct fixture f;
    struct launcher_volume_topo t;
    struct core_err err;
    fixture_load(&f, POD("[" VOL("data") "]"), NULL, NULL, NULL);
    memset(&t, 0x5a, sizeof(t));
    core_err_clear(&err);
    CU_ASSERT_EQUAL(launcher_volume_topology(NULL, &f.in, &t, &err), CORE_E_INVAL);
    CU_ASSERT_EQUAL(err.code, CORE_E_INVAL);
    CU_ASSERT_EQUAL(launcher_volume_topology(&f.pod, NULL, &t, NULL), CORE_E_INVAL);
    f.in.npvcs = 3;
    f.in.pvcs = NULL;
    CU_ASSERT_EQUAL(launcher_volume_topology(&f.pod, &f.in, &t, NULL), CORE_E_INVAL);
    /* *out untouched on failure. */
    CU_ASSERT_EQUAL(t.nalts, (size_t)0x5a5a5a5a5a5a5a5aULL);
    fixture_cleanup(&f);
    launcher_volume_topo_cleanup(NULL);
}

static void test_alloc_failures(void)
{
    /* The cross-product case, failing each allocation in turn: either a clean CORE_E_NOMEM
     * (out untouched, nothing leaked: ASan/LSan check) or the full answer. */
    const struct vcase *c = NULL;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strncmp(cases[i].name, "bound and WaitForFirstConsumer", 30) == 0)
            c = &cases[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct fixture f;
    fixture_load(&f, c->pod, c->pvcs, c->pvs, c->scs);
    unsigned long n;
    int done = 0;
    for (n = 1; n < 10000 && !done; n++) {
        struct launcher_volume_topo t;
        struct core_err err;
        memset(&t, 0, sizeof(t));
        t.nalts = 777;
        core_err_clear(&err);
        core_alloc_fail_after(n);
        int rc = launcher_volume_topology(&f.pod, &f.in, &t, &err);
        unsigned long failed = core_alloc_failures();
        core_alloc_fail_after(0);
        if (rc == 0) {
            CU_ASSERT_EQUAL(failed, 0);
            CU_ASSERT_EQUAL(t.nalts, 3);
            CU_ASSERT_STRING_EQUAL(t.reason, "");
            launcher_volume_topo_cleanup(&t);
            done = 1;
        } else {
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
            CU_ASSERT_EQUAL(err.code, CORE_E_NOMEM);
            CU_ASSERT_EQUAL(t.nalts, 777);
        }
    }
    CU_ASSERT(done);
    CU_ASSERT(n > 3); /* some allocation was actually exercised */
    fixture_cleanup(&f);
}

static void test_alloc_failures_conflict(void)
{
    /* The conflict path allocates too (the key, the description). */
    const struct vcase *c = NULL;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, "two volumes in different zones do not intersect") == 0)
            c = &cases[i];
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    struct fixture f;
    fixture_load(&f, c->pod, c->pvcs, c->pvs, c->scs);
    int done = 0;
    for (unsigned long n = 1; n < 10000 && !done; n++) {
        struct launcher_volume_topo t;
        memset(&t, 0, sizeof(t));
        core_alloc_fail_after(n);
        int rc = launcher_volume_topology(&f.pod, &f.in, &t, NULL);
        core_alloc_fail_after(0);
        if (rc == 0) {
            CU_ASSERT_STRING_EQUAL(t.reason, c->reason);
            CU_ASSERT_EQUAL(t.nalts, 0);
            launcher_volume_topo_cleanup(&t);
            done = 1;
        } else {
            CU_ASSERT_EQUAL(rc, CORE_E_NOMEM);
        }
    }
    CU_ASSERT(done);
    fixture_cleanup(&f);
}

TESTS_SUITE(launcher_volumes, "launcher_volumes", NULL, NULL, TESTS_CASE(test_table),
            TESTS_CASE(test_cap_one_volume), TESTS_CASE(test_cap_cross_product),
            TESTS_CASE(test_invalid_arguments), TESTS_CASE(test_alloc_failures),
            TESTS_CASE(test_alloc_failures_conflict))
