/*
 * amiresolve/alias.c — the pure alias layer: parsing "family@version", family names, and the
 * public SSM parameter names an alias reads for each architecture and variant
 * (../shared/reference/eks-nodes.md).
 *
 * Invariants:
 *  - No I/O, no clock, no allocation: everything lands in caller-owned fixed-size storage.
 *  - Parsing is strict and bounded (AMIRESOLVE_ALIAS_TEXT_MAX bytes): family names are
 *    case-sensitive lowercase; a bad alias is CORE_E_INVAL naming the field and the valid
 *    families; a family/version combination that does not exist (a pinned Windows version,
 *    AL2 on Kubernetes 1.33+, windows2025 before 1.35) is CORE_E_UNSUPPORTED saying what to use.
 *  - Parameter lists come in one fixed order: amd64 before arm64, then standard, nvidia,
 *    neuron. The arch in a parameter's name is EC2's (x86_64/arm64); the arch in the struct is
 *    Kubernetes' (amd64/arm64).
 */
#include "amiresolve/amiresolve.h"

#include <stdio.h>
#include <string.h>

#define ALIAS_TEXT_MAX 128u
#define FAMILIES_TEXT "al2, al2023, bottlerocket, windows2019, windows2022, windows2025"

static const struct {
    const char *name;
    enum k8s_ami_family family;
} families[] = {
    {"al2", K8S_AMI_AL2},
    {"al2023", K8S_AMI_AL2023},
    {"bottlerocket", K8S_AMI_BOTTLEROCKET},
    {"windows2019", K8S_AMI_WINDOWS2019},
    {"windows2022", K8S_AMI_WINDOWS2022},
    {"windows2025", K8S_AMI_WINDOWS2025},
};

const char *amiresolve_family_name(enum k8s_ami_family f)
{
    if (f == K8S_AMI_CUSTOM)
        return "custom";
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (families[i].family == f)
            return families[i].name;
    return "unknown";
}

static int is_windows(enum k8s_ami_family f)
{
    return f == K8S_AMI_WINDOWS2019 || f == K8S_AMI_WINDOWS2022 || f == K8S_AMI_WINDOWS2025;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "v" followed by exactly 8 digits (YYYYMMDD), as AL2 and AL2023 releases are named. */
static int eks_release_ok(const char *v)
{
    if (v[0] != 'v')
        return 0;
    for (int i = 1; i <= 8; i++)
        if (!is_digit(v[i]))
            return 0;
    return v[9] == '\0';
}

/* "1.20.3": three dot-separated runs of 1..6 digits. */
static int semver_ok(const char *v)
{
    for (int part = 0; part < 3; part++) {
        size_t n = 0;
        while (is_digit(v[n]))
            n++;
        if (n == 0 || n > 6)
            return 0;
        v += n;
        if (part < 2) {
            if (*v != '.')
                return 0;
            v++;
        }
    }
    return *v == '\0';
}

static const char *field_or(const char *field)
{
    return field ? field : "alias";
}

int amiresolve_alias_parse(const char *text, const char *field, struct amiresolve_alias *out,
                           struct core_err *err)
{
    struct amiresolve_alias a;
    const char *at, *ver;
    size_t flen, tlen;
    int found = 0;

    if (!text || !out)
        return core_err_set(err, CORE_E_INVAL, "%s: an alias is required (family@version, "
                            "family one of " FAMILIES_TEXT ")", field_or(field));
    tlen = strnlen(text, ALIAS_TEXT_MAX + 1);
    if (tlen > ALIAS_TEXT_MAX)
        return core_err_set(err, CORE_E_INVAL, "%s: longer than %u characters",
                            field_or(field), ALIAS_TEXT_MAX);
    memset(&a, 0, sizeof a);
    at = strchr(text, '@');
    if (!at)
        return core_err_set(err, CORE_E_INVAL,
                            "%s: \"%s\" is not family@version (e.g. al2023@latest); family is "
                            "one of " FAMILIES_TEXT, field_or(field), text);
    flen = (size_t)(at - text);
    for (size_t i = 0; i < sizeof families / sizeof *families; i++)
        if (strlen(families[i].name) == flen && memcmp(families[i].name, text, flen) == 0) {
            a.family = families[i].family;
            found = 1;
        }
    if (!found)
        return core_err_set(err, CORE_E_INVAL,
                            "%s: unknown family \"%.*s\" in \"%s\"; family is one of "
                            FAMILIES_TEXT, field_or(field), (int)flen, text, text);
    ver = at + 1;
    if (*ver == '\0')
        return core_err_set(err, CORE_E_INVAL,
                            "%s: \"%s\" has no version; use %.*s@latest or a pinned release",
                            field_or(field), text, (int)flen, text);
    if (strcmp(ver, "latest") == 0) {
        core_strlcpy(a.version, "latest", sizeof a.version);
    } else if (is_windows(a.family)) {
        return core_err_set(err, CORE_E_UNSUPPORTED,
                            "%s: %s: Windows AMIs can only be resolved @latest; use %.*s@latest",
                            field_or(field), text, (int)flen, text);
    } else if (a.family == K8S_AMI_BOTTLEROCKET) {
        const char *v = ver[0] == 'v' ? ver + 1 : ver;
        if (!semver_ok(v))
            return core_err_set(err, CORE_E_INVAL,
                                "%s: \"%s\": the version must be \"latest\" or a Bottlerocket "
                                "release such as 1.20.3", field_or(field), text);
        core_strlcpy(a.version, v, sizeof a.version);
    } else {
        if (!eks_release_ok(ver))
            return core_err_set(err, CORE_E_INVAL,
                                "%s: \"%s\": the version must be \"latest\" or a release such "
                                "as v20240807 (v + YYYYMMDD)", field_or(field), text);
        core_strlcpy(a.version, ver, sizeof a.version);
    }
    *out = a;
    return 0;
}

/* "1.31" -> minor 31; the major must be 1 and the minor 1..3 digits. */
static int k8s_minor(const char *k8s, int *minor)
{
    int64_t m = 0;
    size_t n = 0;
    if (!k8s || strncmp(k8s, "1.", 2) != 0)
        return CORE_E_INVAL;
    while (is_digit(k8s[2 + n]))
        n++;
    if (n == 0 || n > 3 || k8s[2 + n] != '\0' || core_parse_i64(k8s + 2, 0, 999, &m) != 0)
        return CORE_E_INVAL;
    *minor = (int)m;
    return 0;
}

static int ec2_arch_is_arm(const char *k8s_arch)
{
    return strcmp(k8s_arch, "arm64") == 0;
}

/* Appends one parameter; CORE_E_TOOBIG when out is full or a name does not fit. */
static int push(struct amiresolve_param *out, size_t max, size_t *n, const char *arch,
                const char *variant, struct core_err *err, const char *fmt, ...)
    CORE_PRINTF(7, 8);
static int push(struct amiresolve_param *out, size_t max, size_t *n, const char *arch,
                const char *variant, struct core_err *err, const char *fmt, ...)
{
    va_list ap;
    int len;
    if (*n >= max)
        return core_err_set(err, CORE_E_TOOBIG, "alias parameters: more than %zu", max);
    va_start(ap, fmt);
    len = vsnprintf(out[*n].name, sizeof out[*n].name, fmt, ap);
    va_end(ap);
    if (len < 0 || (size_t)len >= sizeof out[*n].name)
        return core_err_set(err, CORE_E_TOOBIG, "alias parameter name too long");
    out[*n].arch = arch;
    out[*n].variant = variant;
    (*n)++;
    return 0;
}

int amiresolve_alias_params(const struct amiresolve_alias *a, const char *k8s,
                            struct amiresolve_param *out, size_t max, size_t *n,
                            struct core_err *err)
{
    static const struct {
        const char *arch, *variant;
    } al2023[] = {{"amd64", "standard"}, {"amd64", "nvidia"}, {"amd64", "neuron"},
                  {"arm64", "standard"}, {"arm64", "nvidia"}},
      al2[] = {{"amd64", "standard"}, {"amd64", "nvidia"}, {"amd64", "neuron"},
               {"arm64", "standard"}},
      br[] = {{"amd64", "standard"}, {"amd64", "nvidia"}, {"arm64", "standard"},
              {"arm64", "nvidia"}};
    struct amiresolve_param tmp[AMIRESOLVE_PARAM_MAX];
    size_t cnt = 0;
    int minor = 0, latest, rc = 0;
    const char *name;

    if (!a || !out || !n)
        return core_err_set(err, CORE_E_INVAL, "alias parameters: missing argument");
    if (k8s_minor(k8s, &minor) != 0)
        return core_err_set(err, CORE_E_INVAL,
                            "kubernetes version: \"%s\" is not a minor version such as 1.31",
                            k8s ? k8s : "");
    name = amiresolve_family_name(a->family);
    latest = strcmp(a->version, "latest") == 0;
    if (a->version[0] == '\0')
        return core_err_set(err, CORE_E_INVAL, "alias %s@: no version", name);
    switch (a->family) {
    case K8S_AMI_AL2023:
        if (!latest && !eks_release_ok(a->version))
            return core_err_set(err, CORE_E_INVAL, "alias al2023@%s: bad version", a->version);
        for (size_t i = 0; i < sizeof al2023 / sizeof *al2023 && !rc; i++) {
            const char *ea = ec2_arch_is_arm(al2023[i].arch) ? "arm64" : "x86_64";
            if (latest)
                rc = push(tmp, AMIRESOLVE_PARAM_MAX, &cnt, al2023[i].arch, al2023[i].variant,
                          err, "/aws/service/eks/optimized-ami/%s/amazon-linux-2023/%s/%s/"
                          "recommended/image_id", k8s, ea, al2023[i].variant);
            else
                rc = push(tmp, AMIRESOLVE_PARAM_MAX, &cnt, al2023[i].arch, al2023[i].variant,
                          err, "/aws/service/eks/optimized-ami/%s/amazon-linux-2023/%s/%s/"
                          "amazon-eks-node-al2023-%s-%s-%s-%s/image_id", k8s, ea,
                          al2023[i].variant, ea, al2023[i].variant, k8s, a->version);
        }
        break;
    case K8S_AMI_AL2:
        if (minor >= 33)
            return core_err_set(err, CORE_E_UNSUPPORTED,
                                "al2@%s: Amazon Linux 2 AMIs are not published for Kubernetes "
                                "%s (only up to 1.32); use al2023@latest", a->version, k8s);
        if (!latest && !eks_release_ok(a->version))
            return core_err_set(err, CORE_E_INVAL, "alias al2@%s: bad version", a->version);
        for (size_t i = 0; i < sizeof al2 / sizeof *al2 && !rc; i++) {
            int arm = ec2_arch_is_arm(al2[i].arch);
            int gpu = strcmp(al2[i].variant, "standard") != 0;
            const char *dir = arm ? "amazon-linux-2-arm64" : gpu ? "amazon-linux-2-gpu"
                                                                 : "amazon-linux-2";
            const char *pin = arm ? "amazon-eks-arm64-node" : gpu ? "amazon-eks-gpu-node"
                                                                  : "amazon-eks-node";
            if (latest)
                rc = push(tmp, AMIRESOLVE_PARAM_MAX, &cnt, al2[i].arch, al2[i].variant, err,
                          "/aws/service/eks/optimized-ami/%s/%s/recommended/image_id", k8s, dir);
            else
                rc = push(tmp, AMIRESOLVE_PARAM_MAX, &cnt, al2[i].arch, al2[i].variant, err,
                          "/aws/service/eks/optimized-ami/%s/%s/%s-%s-%s/image_id", k8s, dir,
                          pin, k8s, a->version);
        }
        break;
    case K8S_AMI_BOTTLEROCKET:
        if (!latest && !semver_ok(a->version))
            return core_err_set(err, CORE_E_INVAL, "alias bottlerocket@%s: bad version",
                                a->version);
        for (size_t i = 0; i < sizeof br / sizeof *br && !rc; i++) {
            const char *ea = ec2_arch_is_arm(br[i].arch) ? "arm64" : "x86_64";
            rc = push(tmp, AMIRESOLVE_PARAM_MAX, &cnt, br[i].arch, br[i].variant, err,
                      "/aws/service/bottlerocket/aws-k8s-%s%s/%s/%s/image_id", k8s,
                      strcmp(br[i].variant, "nvidia") == 0 ? "-nvidia" : "", ea, a->version);
        }
        break;
    case K8S_AMI_WINDOWS2019:
    case K8S_AMI_WINDOWS2022:
    case K8S_AMI_WINDOWS2025: {
        const char *year = a->family == K8S_AMI_WINDOWS2019   ? "2019"
                           : a->family == K8S_AMI_WINDOWS2022 ? "2022"
                                                              : "2025";
        if (!latest)
            return core_err_set(err, CORE_E_UNSUPPORTED,
                                "%s@%s: Windows AMIs can only be resolved @latest; use %s@latest",
                                name, a->version, name);
        if (a->family == K8S_AMI_WINDOWS2025 && minor < 35)
            return core_err_set(err, CORE_E_UNSUPPORTED,
                                "windows2025@latest: Windows Server 2025 AMIs need Kubernetes "
                                "1.35 or later (asked for %s); use windows2022@latest", k8s);
        rc = push(tmp, AMIRESOLVE_PARAM_MAX, &cnt, "amd64", "standard", err,
                  "/aws/service/ami-windows-latest/Windows_Server-%s-English-Core-"
                  "EKS_Optimized-%s/image_id", year, k8s);
        break;
    }
    default:
        return core_err_set(err, CORE_E_INVAL,
                            "alias: family %s has no public parameters; family is one of "
                            FAMILIES_TEXT, name);
    }
    if (rc)
        return rc;
    if (cnt > max)
        return core_err_set(err, CORE_E_TOOBIG, "alias %s@%s: %zu parameters, room for %zu",
                            name, a->version, cnt, max);
    memcpy(out, tmp, cnt * sizeof *tmp);
    *n = cnt;
    return 0;
}
