/*
 * tests/integration/test_deploy.c — what deploy/ ships is what the code needs and what the tools
 * accept:
 *  - the IAM policy (deploy/iam/controller-policy.json) is valid JSON whose ec2: and ssm:
 *    actions are exactly the AWS calls the controller's code makes (found by scanning its C
 *    sources for aws_ec2_<name>( and aws_ssm_<name>( calls), plus the few actions the API
 *    requires without a call of their own (IMPLIED below, each with its reason); instance
 *    actions are limited by tag conditions, SSM reads to the public /aws/service/ parameters;
 *    and the CloudFormation template carries that same policy inline;
 *  - `kubectl kustomize` renders the base and every overlay, and the output holds the
 *    Deployment with 2 replicas (skipped with a message when no kubectl is installed);
 *  - against `stoker sim serve`, `kubectl apply` of the CRDs and of every example succeeds, and
 *    every invalid example in tests/data/deploy/ is refused with a message naming the field
 *    (its "# expect: TEXT" lines); examples the schema accepts but the controller refuses (its
 *    "# expect-controller: TEXT" lines, rules the OpenAPI schema cannot state) are accepted by
 *    the API and refused by the controller's decoder with that text; every example decodes;
 *  - the image definition runs as a non-root user and copies only the binary.
 *
 * Paths are found from tests_data_path (STOKER_TESTDATA = tests/data), the repository root
 * being two levels up. Every child process is bounded by a deadline (simproc.h).
 */
#include "tests/integration/simproc.h"
#include "tests/unit/harness.h"

#include "core/core.h"
#include "k8s/k8s.h"

#include <CUnit/CUnit.h>
#include <dirent.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KUBECTL ((char *)(uintptr_t)tests_kubectl())
#define CLI_TIMEOUT_S 60
#define MAX_FILES 64
#define NAME_MAX_LEN 256

/*
 * Actions the policy must grant although no code calls them by that name:
 *  - ec2:RunInstances: CreateFleet with a launch template is authorised as RunInstances as
 *    well, on the instance, its volumes and network interface, the subnet, the security groups,
 *    the image and the launch template.
 *  - ec2:CreateTags: tags given at creation (TagSpecification on CreateFleet and
 *    CreateLaunchTemplate) are authorised as CreateTags with ec2:CreateAction set (the warm
 *    path also calls CreateTags directly).
 * And outside ec2:/ssm: (checked on its own below): iam:PassRole, because the launch template
 * names the nodes' instance profile, and launching it passes the node role to EC2.
 */
static const char *const IMPLIED[] = {"ec2:RunInstances", "ec2:CreateTags", NULL};

/* The controller's non-test sources that may call AWS (aws/ itself and sim/ are not). */
static const char *const SOURCE_DIRS[] = {"controller", "launcher", "amiresolve", "prewarm", NULL};
static const char *const SOURCE_FILES[] = {"cli/cmd_controller.c", NULL};
/* aws_ec2_ and aws_ssm_ functions that are not calls to the service. */
static const char *const NOT_CALLS[] = {"fleet_error_is_capacity", NULL};
static const char *const NOT_CALL_SUFFIXES[] = {"_encode", "_decode", "_req", "_free",
                                                "_cleanup", NULL};

static const char *const KUSTOMIZE_DIRS[] = {"base", "overlays/irsa", "overlays/pod-identity",
                                             NULL};

/* An absolute path under the repository root, in out. */
static const char *repo_path(const char *rel, char *out, size_t outsz)
{
    char r[512];
    snprintf(r, sizeof r, "../../%s", rel);
    core_strlcpy(out, tests_data_path(r), outsz);
    return out;
}

/* ---- scanning the sources --------------------------------------------------------------- */

/* text with comments, string and character literals blanked (same length), so only code is
 * scanned. */
static void strip_c(char *text)
{
    enum { CODE, LINE, BLOCK, STR, CHR } st = CODE;
    for (char *p = text; *p; p++) {
        switch (st) {
        case CODE:
            if (p[0] == '/' && p[1] == '/') {
                st = LINE;
                *p = ' ';
            } else if (p[0] == '/' && p[1] == '*') {
                st = BLOCK;
                *p++ = ' ';
                *p = ' ';
            } else if (*p == '"') {
                st = STR;
            } else if (*p == '\'') {
                st = CHR;
            }
            break;
        case LINE:
            if (*p == '\n')
                st = CODE;
            else
                *p = ' ';
            break;
        case BLOCK:
            if (p[0] == '*' && p[1] == '/') {
                *p++ = ' ';
                *p = ' ';
                st = CODE;
            } else if (*p != '\n') {
                *p = ' ';
            }
            break;
        case STR:
        case CHR:
            if (*p == '\\' && p[1]) {
                *p++ = ' ';
                *p = ' ';
            } else if (*p == (st == STR ? '"' : '\'')) {
                st = CODE;
            } else if (*p != '\n') {
                *p = ' ';
            }
            break;
        }
    }
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* "describe_instance_type_offerings" → "ec2:DescribeInstanceTypeOfferings". */
static void action_name(const char *svc, const char *snake, char *out, size_t outsz)
{
    size_t n = (size_t)snprintf(out, outsz, "%s:", svc);
    int up = 1;
    for (const char *p = snake; *p && n + 1 < outsz; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        out[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
        up = 0;
    }
    out[n] = '\0';
}

/* Adds to set (a JSON object used as a set) every AWS call in the code of text. */
static void scan_calls(char *text, json_t *set)
{
    static const struct {
        const char *prefix, *svc;
    } svcs[] = {{"aws_ec2_", "ec2"}, {"aws_ssm_", "ssm"}};

    strip_c(text);
    for (const char *p = text; (p = strstr(p, "aws_")) != NULL; p++) {
        if (p > text && ident_char(p[-1]))
            continue;
        for (size_t s = 0; s < sizeof svcs / sizeof svcs[0]; s++) {
            size_t plen = strlen(svcs[s].prefix), n = 0;
            char name[128], action[160];
            const char *q;
            if (strncmp(p, svcs[s].prefix, plen) != 0)
                continue;
            for (q = p + plen; ident_char(*q) && n + 1 < sizeof name; q++)
                name[n++] = *q;
            name[n] = '\0';
            while (*q == ' ' || *q == '\t' || *q == '\n')
                q++;
            if (*q != '(' || !n || in_list(name, NOT_CALLS))
                continue;
            {
                int helper = 0;
                for (size_t k = 0; NOT_CALL_SUFFIXES[k]; k++)
                    helper |= has_suffix(name, NOT_CALL_SUFFIXES[k]);
                if (helper)
                    continue;
            }
            action_name(svcs[s].svc, name, action, sizeof action);
            json_object_set_new(set, action, json_true());
        }
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The names in dir ending in suffix, sorted; how many (at most MAX_FILES). */
static size_t list_dir(const char *dir, const char *suffix, char names[][NAME_MAX_LEN])
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL && n < MAX_FILES) {
        if (e->d_name[0] == '.' || !has_suffix(e->d_name, suffix) ||
            strlen(e->d_name) >= NAME_MAX_LEN)
            continue;
        core_strlcpy(names[n++], e->d_name, NAME_MAX_LEN);
    }
    closedir(d);
    qsort(names, n, NAME_MAX_LEN, name_cmp);
    return n;
}

/* The set of ec2:/ssm: actions the controller's code calls. */
static json_t *code_actions(void)
{
    static char names[MAX_FILES][NAME_MAX_LEN];
    json_t *set = json_object();
    char dir[4096], path[4096 + NAME_MAX_LEN];
    size_t nfiles = 0;

    for (size_t i = 0; SOURCE_DIRS[i]; i++) {
        size_t n = list_dir(repo_path(SOURCE_DIRS[i], dir, sizeof dir), ".c", names);
        for (size_t j = 0; j < n; j++) {
            char *text;
            snprintf(path, sizeof path, "%s/%s", dir, names[j]);
            if ((text = tests_read_file(path, NULL)) != NULL) {
                scan_calls(text, set);
                nfiles++;
            }
            core_free(text);
        }
    }
    for (size_t i = 0; SOURCE_FILES[i]; i++) {
        char *text = tests_read_file(repo_path(SOURCE_FILES[i], path, sizeof path), NULL);
        CU_ASSERT_PTR_NOT_NULL(text);
        if (text)
            scan_calls(text, set);
        core_free(text);
    }
    CU_ASSERT(nfiles >= 10); /* the scan found the sources */
    return set;
}

/* ---- the policy ------------------------------------------------------------------------- */

/* The actions of a statement ("Action" is a string or an array), at most max, into out. */
static size_t statement_actions(const json_t *st, const char **out, size_t max)
{
    const json_t *a = json_object_get(st, "Action");
    size_t n = 0, i;
    json_t *v;

    if (json_is_string(a) && max)
        out[n++] = json_string_value(a);
    json_array_foreach(a, i, v) {
        if (json_is_string(v) && n < max)
            out[n++] = json_string_value(v);
    }
    return n;
}

static int any_resource_is(const json_t *st, const char *what)
{
    const json_t *r = json_object_get(st, "Resource");
    size_t i;
    json_t *v;
    if (json_is_string(r))
        return strcmp(json_string_value(r), what) == 0;
    json_array_foreach(r, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), what) == 0)
            return 1;
    }
    return 0;
}

/* Every resource of st starts with prefix. */
static int resources_start_with(const json_t *st, const char *prefix)
{
    const json_t *r = json_object_get(st, "Resource");
    size_t i, n = 0;
    json_t *v;
    if (json_is_string(r))
        return strncmp(json_string_value(r), prefix, strlen(prefix)) == 0;
    json_array_foreach(r, i, v) {
        if (!json_is_string(v) || strncmp(json_string_value(v), prefix, strlen(prefix)) != 0)
            return 0;
        n++;
    }
    return n > 0;
}

static const char *cond_value(const json_t *st, const char *op, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(st, "Condition"), op), key));
}

static void test_policy_matches_code(void)
{
    static const char *const tag_scoped[] = {"ec2:TerminateInstances", "ec2:StopInstances",
                                             "ec2:StartInstances", "ec2:ModifyInstanceAttribute",
                                             NULL};
    char path[4096];
    json_error_t jerr;
    json_t *policy = json_load_file(repo_path("deploy/iam/controller-policy.json", path,
                                              sizeof path), 0, &jerr);
    json_t *code, *granted = json_object(), *want;
    const char *key;
    json_t *v, *st;
    size_t i;
    int passrole = 0, ssm_ok = 1;

    if (!policy)
        fprintf(stderr, "\n  controller-policy.json: line %d: %s\n", jerr.line, jerr.text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(policy);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(policy, "Version")), "2012-10-17");
    CU_ASSERT(json_array_size(json_object_get(policy, "Statement")) > 0);

    json_array_foreach(json_object_get(policy, "Statement"), i, st) {
        const char *acts[64];
        size_t n = statement_actions(st, acts, 64);
        int describe_only = n > 0;

        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(st, "Effect")), "Allow");
        for (size_t j = 0; j < n; j++) {
            if (strncmp(acts[j], "ec2:", 4) == 0 || strncmp(acts[j], "ssm:", 4) == 0)
                json_object_set_new(granted, acts[j], json_true());
            if (strncmp(acts[j], "ec2:Describe", 12) != 0)
                describe_only = 0;
            CU_ASSERT_PTR_NULL(strchr(acts[j], '*')); /* no wildcard actions */
            if (in_list(acts[j], tag_scoped)) {
                /* Only on instances carrying this cluster's ownership tags. */
                const char *owned = cond_value(
                    st, "StringEquals", "aws:ResourceTag/kubernetes.io/cluster/${ClusterName}");
                const char *by = cond_value(st, "StringEquals",
                                            "aws:ResourceTag/stoker.dev/managed-by");
                CU_ASSERT(owned && strcmp(owned, "owned") == 0);
                CU_ASSERT(by && strcmp(by, "${ClusterName}") == 0);
                CU_ASSERT(resources_start_with(st, "arn:${AWS::Partition}:ec2:*:"));
                if (!owned || !by)
                    fprintf(stderr, "\n  %s is granted without the cluster's tag conditions\n",
                            acts[j]);
            }
            if (strncmp(acts[j], "ssm:", 4) == 0 &&
                !resources_start_with(st, "arn:${AWS::Partition}:ssm:*::parameter/aws/service/"))
                ssm_ok = 0;
            if (strcmp(acts[j], "iam:PassRole") == 0) {
                const char *svc = cond_value(st, "StringEquals", "iam:PassedToService");
                passrole = 1;
                CU_ASSERT(resources_start_with(
                    st, "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${NodeRoleName}"));
                CU_ASSERT(svc && strcmp(svc, "ec2.amazonaws.com") == 0);
            }
        }
        /* Describe calls cannot be scoped by resource; nothing else may be granted on "*". */
        if (!describe_only && any_resource_is(st, "*")) {
            fprintf(stderr, "\n  statement %zu grants more than Describe* on every resource\n",
                    i);
            CU_FAIL("a statement other than Describe* is granted on Resource \"*\"");
        }
        if (describe_only)
            CU_ASSERT_PTR_NULL(json_object_get(st, "Condition"));
    }
    CU_ASSERT(ssm_ok);
    CU_ASSERT(passrole);

    code = code_actions();
    want = json_deep_copy(code);
    for (i = 0; IMPLIED[i]; i++)
        json_object_set_new(want, IMPLIED[i], json_true());
    /* The scan works: the calls every build makes are found, helpers are not. */
    CU_ASSERT_PTR_NOT_NULL(json_object_get(code, "ec2:CreateFleet"));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(code, "ec2:DescribeInstanceTypeOfferings"));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(code, "ssm:GetParameters"));
    CU_ASSERT_PTR_NULL(json_object_get(code, "ec2:FleetErrorIsCapacity"));
    CU_ASSERT_PTR_NULL(json_object_get(code, "ec2:CreateFleetEncode"));

    json_object_foreach(want, key, v) {
        if (!json_object_get(granted, key)) {
            fprintf(stderr, "\n  the code calls %s but deploy/iam/controller-policy.json does "
                            "not grant it\n", key);
            CU_FAIL("an action the code calls is missing from the policy");
        }
    }
    json_object_foreach(granted, key, v) {
        if (!json_object_get(want, key)) {
            fprintf(stderr, "\n  deploy/iam/controller-policy.json grants %s, which no code "
                            "calls (nor is it in IMPLIED)\n", key);
            CU_FAIL("the policy grants an action the code does not call");
        }
    }
    json_decref(want);
    json_decref(code);
    json_decref(granted);
    json_decref(policy);
}

/* The CloudFormation template holds the same policy inline, the node role the four managed
 * policies, and both trusts. */
static void test_cloudformation(void)
{
    static const char *const managed[] = {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy",
                                          "AmazonEC2ContainerRegistryReadOnly",
                                          "AmazonSSMManagedInstanceCore", NULL};
    char path[4096];
    size_t len = 0, ndocs = 0;
    char *text = tests_read_file(repo_path("deploy/iam/cloudformation.yaml", path, sizeof path),
                                 &len);
    json_t **docs = NULL, *policy, *res, *inline_doc, *arns, *trust;
    struct core_err err;
    const char *sub;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    core_err_clear(&err);
    CU_ASSERT_EQUAL_FATAL(k8s_yaml_parse(text, len, &docs, &ndocs, &err), 0);
    CU_ASSERT_EQUAL_FATAL(ndocs, 1);
    /* Plain YAML: no short-form tags (the parser refuses unknown tags anyway). */
    CU_ASSERT_PTR_NULL(strstr(text, "!Sub"));
    CU_ASSERT_PTR_NULL(strstr(text, "!Ref"));
    CU_ASSERT_PTR_NULL(strstr(text, "!GetAtt"));
    res = json_object_get(docs[0], "Resources");

    /* Policies[0].PolicyDocument = {"Fn::Sub": [json-text, {NodeRoleName: ...}]} */
    sub = json_string_value(json_array_get(
        json_object_get(json_object_get(json_array_get(
                            json_object_get(json_object_get(json_object_get(res, "ControllerRole"),
                                                            "Properties"),
                                            "Policies"),
                            0),
                        "PolicyDocument"),
                        "Fn::Sub"),
        0));
    CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
    inline_doc = json_loads(sub, 0, NULL);
    policy = json_load_file(repo_path("deploy/iam/controller-policy.json", path, sizeof path), 0,
                            NULL);
    CU_ASSERT_PTR_NOT_NULL(inline_doc);
    CU_ASSERT(inline_doc && policy && json_equal(inline_doc, policy));
    if (!(inline_doc && policy && json_equal(inline_doc, policy)))
        fprintf(stderr, "\n  cloudformation.yaml's inline policy differs from "
                        "controller-policy.json\n");

    arns = json_object_get(json_object_get(json_object_get(res, "NodeRole"), "Properties"),
                           "ManagedPolicyArns");
    for (size_t i = 0; managed[i]; i++) {
        char want[128];
        int found = 0;
        size_t j;
        json_t *a;
        snprintf(want, sizeof want, "arn:${AWS::Partition}:iam::aws:policy/%s", managed[i]);
        json_array_foreach(arns, j, a) {
            const char *s = json_string_value(json_object_get(a, "Fn::Sub"));
            found |= s && strcmp(s, want) == 0;
        }
        CU_ASSERT(found);
    }
    CU_ASSERT_PTR_NOT_NULL(json_object_get(res, "NodeInstanceProfile"));
    /* Both trusts parse as JSON and name the right principal. */
    trust = json_object_get(json_object_get(json_object_get(res, "ControllerRole"), "Properties"),
                            "AssumeRolePolicyDocument");
    for (size_t i = 1; i <= 2; i++) {
        const char *t = json_string_value(
            json_object_get(json_array_get(json_object_get(trust, "Fn::If"), i), "Fn::Sub"));
        json_t *doc = t ? json_loads(t, 0, NULL) : NULL;
        CU_ASSERT_PTR_NOT_NULL(doc);
        CU_ASSERT(t && strstr(t, i == 1 ? "sts:AssumeRoleWithWebIdentity"
                                        : "pods.eks.amazonaws.com"));
        json_decref(doc);
    }
    json_decref(inline_doc);
    json_decref(policy);
    k8s_yaml_docs_free(docs, ndocs);
    core_free(text);
}

/* ---- kustomize -------------------------------------------------------------------------- */

/* The first document of docs with this kind and name, or NULL. */
static json_t *find_doc(json_t **docs, size_t n, const char *kind, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        const char *k = json_string_value(json_object_get(docs[i], "kind"));
        const char *nm =
            json_string_value(json_object_get(json_object_get(docs[i], "metadata"), "name"));
        if (k && nm && strcmp(k, kind) == 0 && strcmp(nm, name) == 0)
            return docs[i];
    }
    return NULL;
}

static void check_rendered(const char *which, json_t **docs, size_t n)
{
    json_t *dep = find_doc(docs, n, "Deployment", "stoker");
    json_t *sa = find_doc(docs, n, "ServiceAccount", "stoker");
    json_t *role = find_doc(docs, n, "Role", "stoker-leader-election");
    json_t *pdb = find_doc(docs, n, "PodDisruptionBudget", "stoker");
    json_t *ctr, *sc, *ann;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dep);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(dep, "spec"), "replicas")),
                    2);
    ctr = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(
                                                             dep, "spec"), "template"), "spec"),
                                         "containers"),
                         0);
    sc = json_object_get(ctr, "securityContext");
    CU_ASSERT(json_is_true(json_object_get(sc, "readOnlyRootFilesystem")));
    CU_ASSERT(json_is_false(json_object_get(sc, "allowPrivilegeEscalation")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ctr, "name")), "controller");
    CU_ASSERT_PTR_NOT_NULL(json_object_get(ctr, "livenessProbe"));
    CU_ASSERT_PTR_NOT_NULL(json_object_get(ctr, "readinessProbe"));
    CU_ASSERT_PTR_NOT_NULL(pdb);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(pdb, "spec"),
                                                       "minAvailable")), 1);
    CU_ASSERT_PTR_NOT_NULL(find_doc(docs, n, "Service", "stoker-metrics"));
    CU_ASSERT_PTR_NOT_NULL(find_doc(docs, n, "ClusterRole", "stoker"));
    /* The lease lives in kube-system, everything else in stoker. */
    CU_ASSERT_PTR_NOT_NULL_FATAL(role);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(role, "metadata"),
                                                             "namespace")), "kube-system");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_object_get(dep, "metadata"),
                                                             "namespace")), "stoker");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sa);
    ann = json_object_get(json_object_get(json_object_get(sa, "metadata"), "annotations"),
                          "eks.amazonaws.com/role-arn");
    if (strcmp(which, "overlays/irsa") == 0) {
        CU_ASSERT(json_is_string(ann));
    } else {
        CU_ASSERT_PTR_NULL(ann);
    }
    if (strncmp(which, "overlays/", 9) == 0)
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(ctr, "image")), "stoker:0.1.0");
}

static void test_kustomize_renders(void)
{
    char tmp[] = "/tmp/stoker-deploy-XXXXXX";
    char home[96], errpath[128], dir[4096];
    char *envp[] = {"PATH=/usr/bin:/bin", home, "KUBECONFIG=", NULL};

    if (access(KUBECTL, X_OK) != 0) {
        fprintf(stderr, "\n  skipped: %s is missing (Debian package kubernetes-client; `make "
                        "deps-test`)\n", KUBECTL);
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
    snprintf(home, sizeof home, "HOME=%s", tmp);
    snprintf(errpath, sizeof errpath, "%s/kustomize.err", tmp);
    for (size_t i = 0; KUSTOMIZE_DIRS[i]; i++) {
        char rel[128];
        char *argv[] = {KUBECTL, "kustomize", dir, NULL};
        struct core_buf out;
        json_t **docs = NULL;
        size_t ndocs = 0;
        struct core_err err;
        int status = -1;

        snprintf(rel, sizeof rel, "deploy/kustomize/%s", KUSTOMIZE_DIRS[i]);
        repo_path(rel, dir, sizeof dir);
        core_buf_init(&out, 4u << 20);
        CU_ASSERT_EQUAL(tests_run(argv, envp, errpath, CLI_TIMEOUT_S, &out, &status), 0);
        CU_ASSERT_EQUAL(status, 0);
        if (status != 0) {
            char *e = tests_read_file(errpath, NULL);
            fprintf(stderr, "\n  kubectl kustomize %s: exit %d: %s\n", rel, status, e ? e : "");
            core_free(e);
        }
        core_err_clear(&err);
        CU_ASSERT_EQUAL(k8s_yaml_parse(core_buf_cstr(&out), out.len, &docs, &ndocs, &err), 0);
        if (ndocs)
            check_rendered(KUSTOMIZE_DIRS[i], docs, ndocs);
        else
            CU_FAIL("kubectl kustomize printed nothing");
        k8s_yaml_docs_free(docs, ndocs);
        core_buf_cleanup(&out);
    }
    tests_rmtree(tmp);
}

/* ---- the examples against the emulated API ---------------------------------------------- */

/* Runs kubectl against the server; stdout into out, *errtext (may be NULL) gets stderr. */
static int kubectl(const struct tests_sim *s, const char *const *args, struct core_buf *out,
                   char **errtext)
{
    char home[96], errpath[128];
    char *envp[] = {"PATH=/usr/bin:/bin", home, "KUBECONFIG=", NULL};
    char *argv[16];
    size_t n = 0;
    int rc = -1;

    snprintf(home, sizeof home, "HOME=%s", s->dir);
    snprintf(errpath, sizeof errpath, "%s/kubectl.err", s->dir);
    argv[n++] = KUBECTL;
    argv[n++] = "--kubeconfig";
    argv[n++] = (char *)(uintptr_t)s->kube_path;
    argv[n++] = "--request-timeout=20s";
    for (size_t i = 0; args[i] && n + 1 < sizeof argv / sizeof argv[0]; i++)
        argv[n++] = (char *)(uintptr_t)args[i];
    argv[n] = NULL;
    if (tests_run(argv, envp, errpath, CLI_TIMEOUT_S, out, &rc) != 0)
        return -1;
    if (errtext)
        *errtext = tests_read_file(errpath, NULL);
    return rc;
}

/* Decodes one document with the controller's decoder for its kind: 0, or the decoder's code
 * with err set. Kinds without a decoder here are 0. */
static int decode_doc(const json_t *doc, struct core_err *err)
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    int rc = 0;
    if (!kind)
        return core_err_set(err, CORE_E_INVAL, "no kind");
    if (strcmp(kind, "NodePool") == 0) {
        struct k8s_nodepool v;
        if ((rc = k8s_nodepool_decode(doc, &v, err)) == 0)
            k8s_nodepool_cleanup(&v);
    } else if (strcmp(kind, "EC2NodeClass") == 0) {
        struct k8s_ec2nodeclass v;
        if ((rc = k8s_ec2nodeclass_decode(doc, &v, err)) == 0)
            k8s_ec2nodeclass_cleanup(&v);
    } else if (strcmp(kind, "WarmPool") == 0) {
        struct k8s_warmpool v;
        if ((rc = k8s_warmpool_decode(doc, &v, err)) == 0)
            k8s_warmpool_cleanup(&v);
    } else if (strcmp(kind, "NodeClaim") == 0) {
        struct k8s_nodeclaim v;
        if ((rc = k8s_nodeclaim_decode(doc, &v, err)) == 0)
            k8s_nodeclaim_cleanup(&v);
    }
    return rc;
}

/* Every "# PREFIX TEXT" line of text, NUL-separated into out; how many. */
static size_t expectations(const char *text, const char *prefix, char *out, size_t outsz)
{
    size_t n = 0, used = 0, plen = strlen(prefix);
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        if (len > plen && strncmp(p, prefix, plen) == 0 && used + len - plen + 1 < outsz) {
            memcpy(out + used, p + plen, len - plen);
            used += len - plen;
            out[used++] = '\0';
            n++;
        }
        p += len;
        if (*p)
            p++;
    }
    return n;
}

static void test_examples_apply(void)
{
    static char names[MAX_FILES][NAME_MAX_LEN];
    struct tests_sim s;
    struct core_buf out;
    char dir[4096], path[4096 + NAME_MAX_LEN], crds[4096];
    size_t n, nkinds[4] = {0};
    static const char *const kinds[] = {"NodePool", "EC2NodeClass", "WarmPool", "NodeClaim"};

    if (access(KUBECTL, X_OK) != 0) {
        fprintf(stderr, "\n  skipped: %s is missing (Debian package kubernetes-client; `make "
                        "deps-test`)\n", KUBECTL);
        return;
    }
    if (tests_sim_start(&s, "deploy", NULL) != 0) {
        CU_FAIL("stoker sim serve did not start");
        (void)tests_sim_stop(&s);
        return;
    }
    core_buf_init(&out, 4u << 20);

    /* The CRDs themselves (already served: apply updates them). */
    {
        const char *a[] = {"apply", "--validate=false", "-f",
                           repo_path("deploy/crds", crds, sizeof crds), NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "warmpools.stoker.dev"));
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), "ec2nodeclasses.stoker.dev"));
    }

    /* Every example: decoded by the controller's decoders, then applied. */
    n = list_dir(repo_path("deploy/examples", dir, sizeof dir), ".yaml", names);
    CU_ASSERT(n >= 5);
    for (size_t i = 0; i < n; i++) {
        char *errtext = NULL, *text;
        size_t len = 0, ndocs = 0;
        json_t **docs = NULL;
        struct core_err err;
        int rc;

        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        text = tests_read_file(path, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        core_err_clear(&err);
        CU_ASSERT_EQUAL(k8s_yaml_parse(text, len, &docs, &ndocs, &err), 0);
        for (size_t d = 0; d < ndocs; d++) {
            const char *kind = json_string_value(json_object_get(docs[d], "kind"));
            core_err_clear(&err);
            if (decode_doc(docs[d], &err) != 0) {
                fprintf(stderr, "\n  %s: document %zu: the controller refuses it: %s\n",
                        names[i], d + 1, err.message);
                CU_FAIL("an example does not decode");
            }
            for (size_t k = 0; kind && k < 4; k++)
                nkinds[k] += strcmp(kind, kinds[k]) == 0;
        }
        k8s_yaml_docs_free(docs, ndocs);
        core_free(text);

        core_buf_reset(&out);
        {
            const char *a[] = {"apply", "--validate=false", "-f", path, NULL};
            rc = kubectl(&s, a, &out, &errtext);
        }
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(core_buf_cstr(&out), " created"));
        if (rc != 0)
            fprintf(stderr, "\n  kubectl apply -f %s: exit %d: %s\n", names[i], rc,
                    errtext ? errtext : "");
        core_free(errtext);
    }
    CU_ASSERT(nkinds[0] >= 3); /* general, arm64/spot, GPU pools */
    CU_ASSERT(nkinds[1] >= 3); /* AL2023, GPU, Bottlerocket classes */
    CU_ASSERT(nkinds[2] >= 1); /* the WarmPool */
    /* The server stored them with its defaults: the WarmPool's schedule is there. */
    core_buf_reset(&out);
    {
        const char *a[] = {"get", "warmpool", "general-warm", "-o",
                           "jsonpath={.spec.schedules[0].name} {.spec.size.max} "
                           "{.spec.state}", NULL};
        CU_ASSERT_EQUAL(kubectl(&s, a, &out, NULL), 0);
        CU_ASSERT_STRING_EQUAL(core_buf_cstr(&out), "black-friday 20 Stopped");
    }

    /* Invalid examples: refused with the field named, or accepted by the API and refused by
     * the controller. */
    n = list_dir(tests_data_path("deploy"), ".yaml", names);
    core_strlcpy(dir, tests_data_path("deploy"), sizeof dir);
    CU_ASSERT(n >= 10);
    for (size_t i = 0; i < n; i++) {
        char want[4096], want_ctl[4096], *errtext = NULL, *text;
        size_t nwant, nctl, len = 0;
        int rc;

        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        text = tests_read_file(path, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        nwant = expectations(text, "# expect: ", want, sizeof want);
        nctl = expectations(text, "# expect-controller: ", want_ctl, sizeof want_ctl);
        CU_ASSERT(nwant + nctl > 0);
        core_buf_reset(&out);
        {
            const char *a[] = {"apply", "--validate=false", "-f", path, NULL};
            rc = kubectl(&s, a, &out, &errtext);
        }
        if (nwant) {
            const char *w = want;
            CU_ASSERT_NOT_EQUAL(rc, 0);
            for (size_t k = 0; k < nwant; k++, w += strlen(w) + 1) {
                int found = errtext && strstr(errtext, w) != NULL;
                CU_ASSERT(found);
                if (!found)
                    fprintf(stderr, "\n  %s: expected \"%s\" in: %s\n", names[i], w,
                            errtext ? errtext : "(nothing)");
            }
        }
        if (nctl) {
            /* The schema cannot say it: the API takes it, the controller's decoder refuses. */
            const char *w = want_ctl;
            json_t **docs = NULL;
            size_t ndocs = 0;
            struct core_err err;
            CU_ASSERT_EQUAL(rc, 0);
            core_err_clear(&err);
            CU_ASSERT_EQUAL(k8s_yaml_parse(text, len, &docs, &ndocs, &err), 0);
            CU_ASSERT_EQUAL(ndocs, 1);
            core_err_clear(&err);
            if (ndocs)
                CU_ASSERT_NOT_EQUAL(decode_doc(docs[0], &err), 0);
            for (size_t k = 0; k < nctl; k++, w += strlen(w) + 1) {
                int found = strstr(err.message, w) != NULL;
                CU_ASSERT(found);
                if (!found)
                    fprintf(stderr, "\n  %s: expected \"%s\" from the decoder, got: %s\n",
                            names[i], w, err.message);
            }
            k8s_yaml_docs_free(docs, ndocs);
        }
        core_free(errtext);
        core_free(text);
    }
    core_buf_cleanup(&out);
    CU_ASSERT_EQUAL(tests_sim_stop(&s), 0);
}

/* ---- the image -------------------------------------------------------------------------- */

static void test_dockerfile(void)
{
    char path[4096];
    char *text = tests_read_file(repo_path("deploy/Dockerfile", path, sizeof path), NULL);
    const char *runtime = NULL, *user = NULL;
    size_t ncopy = 0, nfrom = 0;

    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    /* The final stage starts at the last FROM. */
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        if (strncmp(p, "FROM ", 5) == 0) {
            nfrom++;
            runtime = p;
        }
        p += len;
        if (*p)
            p++;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(runtime);
    for (const char *p = runtime; *p;) {
        size_t len = strcspn(p, "\n");
        if (strncmp(p, "COPY ", 5) == 0) {
            const char *want = "COPY --from=build /src/stoker /usr/local/bin/stoker";
            ncopy++;
            CU_ASSERT(len == strlen(want) && strncmp(p, want, len) == 0);
        } else if (strncmp(p, "USER ", 5) == 0) {
            user = p + 5;
        }
        p += len;
        if (*p)
            p++;
    }
    CU_ASSERT(nfrom >= 2); /* multi-stage */
    CU_ASSERT(runtime && strncmp(runtime, "FROM debian:12-slim", 19) == 0);
    CU_ASSERT_EQUAL(ncopy, 1); /* the final stage copies the binary and nothing else */
    CU_ASSERT_PTR_NOT_NULL_FATAL(user);
    CU_ASSERT(strncmp(user, "0", 1) != 0 && strncmp(user, "root", 4) != 0);
    CU_ASSERT(strncmp(user, "65532:65532", 11) == 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ENTRYPOINT [\"/usr/local/bin/stoker\",\"controller\"]"));
    core_free(text);
}

TESTS_SUITE(deploy, "deploy", NULL, NULL, TESTS_CASE(test_policy_matches_code),
            TESTS_CASE(test_cloudformation), TESTS_CASE(test_kustomize_renders),
            TESTS_CASE(test_examples_apply), TESTS_CASE(test_dockerfile))
