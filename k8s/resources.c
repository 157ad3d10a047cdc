/*
 * k8s/resources.c — the API resources stoker reads and writes, and their request paths.
 *
 * Invariants: the tables are constant; a path is built only from names that pass the
 * Kubernetes name rules (lowercase DNS-1123 characters), so no caller-supplied string can add a
 * path segment, a query or an escape.
 */
#include "k8s/k8s.h"

#include <string.h>

#define RES(ident, group, version, plural, kind, namespaced)                                     \
    const struct k8s_resource ident = {group, version, plural, kind, namespaced}

RES(k8s_res_pods, "", "v1", "pods", "Pod", 1);
RES(k8s_res_nodes, "", "v1", "nodes", "Node", 0);
RES(k8s_res_namespaces, "", "v1", "namespaces", "Namespace", 0);
RES(k8s_res_services, "", "v1", "services", "Service", 1);
RES(k8s_res_pvcs, "", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", 1);
RES(k8s_res_pvs, "", "v1", "persistentvolumes", "PersistentVolume", 0);
RES(k8s_res_storageclasses, "storage.k8s.io", "v1", "storageclasses", "StorageClass", 0);
RES(k8s_res_daemonsets, "apps", "v1", "daemonsets", "DaemonSet", 1);
RES(k8s_res_leases, "coordination.k8s.io", "v1", "leases", "Lease", 1);
RES(k8s_res_events, "events.k8s.io", "v1", "events", "Event", 1);
RES(k8s_res_pdbs, "policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", 1);
RES(k8s_res_nodepools, K8S_GROUP, K8S_GROUP_VERSION, "nodepools", "NodePool", 0);
RES(k8s_res_ec2nodeclasses, K8S_GROUP, K8S_GROUP_VERSION, "ec2nodeclasses", "EC2NodeClass", 0);
RES(k8s_res_nodeclaims, K8S_GROUP, K8S_GROUP_VERSION, "nodeclaims", "NodeClaim", 0);
RES(k8s_res_warmpools, K8S_GROUP, K8S_GROUP_VERSION, "warmpools", "WarmPool", 0);

/* DNS-1123 subdomain characters; at most 253 bytes; starts and ends alphanumeric. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '.')
            return 0;
        if ((i == 0 || i == n - 1) && !alnum)
            return 0;
    }
    return strstr(s, "..") == NULL;
}

static int subresource_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z'))
            return 0;
    return 1;
}

int k8s_resource_path(const struct k8s_resource *res, const char *ns, const char *name,
                      const char *subresource, struct core_buf *out, struct core_err *err)
{
    size_t start = out->len;
    int rc;

    if (ns && res->namespaced && !name_ok(ns))
        return core_err_set(err, CORE_E_INVAL, "%s: namespace '%.64s' is not a valid name",
                            res->kind, ns);
    if (name && !name_ok(name))
        return core_err_set(err, CORE_E_INVAL, "%s: name '%.64s' is not a valid name", res->kind,
                            name);
    if (subresource && (!name || !subresource_ok(subresource)))
        return core_err_set(err, CORE_E_INVAL, "%s: subresource '%.32s' needs an object name "
                            "and lowercase letters only", res->kind, subresource);
    if (res->group[0])
        rc = core_buf_appendf(out, "/apis/%s/%s", res->group, res->version);
    else
        rc = core_buf_appendf(out, "/api/%s", res->version);
    if (!rc && res->namespaced && ns)
        rc = core_buf_appendf(out, "/namespaces/%s", ns);
    if (!rc)
        rc = core_buf_appendf(out, "/%s", res->plural);
    if (!rc && name)
        rc = core_buf_appendf(out, "/%s", name);
    if (!rc && subresource)
        rc = core_buf_appendf(out, "/%s", subresource);
    if (rc) {
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return core_err_set(err, rc, "%s: path too long or out of memory", res->kind);
    }
    return 0;
}
