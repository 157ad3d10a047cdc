/*
 * tests/bench/bench_userdata.c — what user data costs per launch: (a) AL2023 render + gzip +
 * base64 for one NodeClaim (labels, taints, a full kubelet block, a user script), the work the
 * launcher does for every NodeClaim; (b) the largest user shell script that still fits EC2's
 * 16 KiB after compression next to the controller's NodeConfig, found by binary search.
 *
 * The script for (b) is pseudo-random but shell-like (commands, paths, flags, variables from a
 * fixed vocabulary, a seeded xorshift PRNG), so it compresses roughly as real scripts do
 * (about 3-4x), and the same seed gives the same answer on every run.
 */
#include "tests/bench/bench.h"

#include "core/core.h"
#include "userdata/userdata.h"

#include <stdio.h>
#include <string.h>

#define N_RENDERS 2000
#define CA "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"

struct fixture {
    struct k8s_labels labels;
    struct k8s_kubelet kubelet;
    struct k8s_taint taints[2];
    struct userdata_input in;
};

static int fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof *f);
    if (k8s_labels_set(&f->labels, "karpenter.sh/nodepool", "default") ||
        k8s_labels_set(&f->labels, "karpenter.sh/capacity-type", "spot") ||
        k8s_labels_set(&f->labels, "node.kubernetes.io/instance-type", "m7i.2xlarge") ||
        k8s_labels_set(&f->labels, "topology.kubernetes.io/zone", "us-west-2a") ||
        k8s_labels_set(&f->labels, "team", "payments") ||
        k8s_res_set(&f->kubelet.system_reserved, "cpu", 100) ||
        k8s_res_set(&f->kubelet.system_reserved, "memory", 100LL * 1024 * 1024 * 1000) ||
        k8s_labels_set(&f->kubelet.eviction_hard, "memory.available", "5%"))
        return 1;
    f->kubelet.image_gc_high = 85;
    f->kubelet.has_image_gc_high = 1;
    f->taints[0] = (struct k8s_taint){"dedicated", "payments", K8S_EFFECT_NO_SCHEDULE};
    f->taints[1] = (struct k8s_taint){"node.cilium.io/agent-not-ready", "true",
                                      K8S_EFFECT_NO_EXECUTE};
    f->in.family = K8S_AMI_AL2023;
    f->in.cluster.name = "prod-west";
    f->in.cluster.endpoint = "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com";
    f->in.cluster.ca_bundle = CA;
    f->in.node.kubelet = &f->kubelet;
    f->in.node.max_pods = 58;
    f->in.node.labels = &f->labels;
    f->in.node.taints = f->taints;
    f->in.node.ntaints = 1;
    f->in.node.startup_taints = &f->taints[1];
    f->in.node.nstartup_taints = 1;
    f->in.node.user_data = "#!/bin/bash\nset -euo pipefail\nsysctl -w vm.max_map_count=262144\n";
    return 0;
}

static void fixture_cleanup(struct fixture *f)
{
    k8s_labels_cleanup(&f->labels);
    k8s_labels_cleanup(&f->kubelet.eviction_hard);
    k8s_res_cleanup(&f->kubelet.system_reserved);
}

BENCH(bench_render, "userdata/al2023_render_gzip", "nodeclaims", 5)
{
    struct fixture f;
    struct userdata_output o;
    size_t gz = 0, raw = 0;
    int rc = 1;

    if (fixture_init(&f))
        goto done;
    bench_start(ctx);
    for (int i = 0; i < N_RENDERS; i++) {
        if (userdata_build(&f.in, &o, NULL) != 0)
            goto done;
        gz = o.gz_len;
        raw = o.raw_len;
        userdata_output_cleanup(&o);
    }
    bench_stop(ctx, N_RENDERS);
    bench_metric(ctx, "raw_bytes", (double)raw);
    bench_metric(ctx, "gzip_bytes", (double)gz);
    rc = 0;
done:
    fixture_cleanup(&f);
    return rc;
}

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* n bytes of shell-like text (ends with a newline). */
static int gen_script(struct core_buf *b, size_t n, uint64_t seed)
{
    static const char *const cmds[] = {"echo", "mkdir -p", "cp -f", "chmod 0644", "systemctl restart",
                                       "curl -fsSL -o", "sed -i", "grep -q", "install -m 0755",
                                       "aws s3 cp", "ln -sf", "tee -a"};
    static const char *const words[] = {"/etc/sysconfig", "/var/lib/app", "/opt/agent", "config",
                                        "$NODE_NAME", "${REGION}", "kubelet", "containerd",
                                        "--retry", "3", "/usr/local/bin", "data", "logs",
                                        "metrics.conf", "node-exporter", "\"$HOSTNAME\"",
                                        "s/foo/bar/g", "/tmp/cache", "ca.pem", "2>/dev/null"};
    uint64_t x = seed;
    int rc = core_buf_append_str(b, "#!/bin/bash\nset -euo pipefail\n");
    while (!rc && b->len < n) {
        rc = core_buf_append_str(b, cmds[next(&x) % (sizeof cmds / sizeof *cmds)]);
        unsigned nw = 1 + (unsigned)(next(&x) % 4);
        for (unsigned i = 0; i < nw && !rc; i++) {
            rc = core_buf_append_char(b, ' ');
            if (!rc && next(&x) % 2 == 0) /* some unique-ish tokens, as real scripts have */
                rc = core_buf_appendf(b, "v%04x", (unsigned)(next(&x) & 0xffff));
            else if (!rc)
                rc = core_buf_append_str(b, words[next(&x) % (sizeof words / sizeof *words)]);
        }
        if (!rc)
            rc = core_buf_append_char(b, '\n');
    }
    if (!rc && b->len > n) { /* cut to exactly n, keeping the final newline */
        b->len = n;
        b->data[n - 1] = '\n';
        b->data[n] = '\0';
    }
    return rc;
}

/* Whether a script of n bytes fits; *gz gets the compressed size when it does. */
static int fits(struct fixture *f, size_t n, size_t *gz, int *err)
{
    struct core_buf s;
    struct userdata_output o;
    struct core_err e;
    int rc;
    core_buf_init(&s, n + 4096); /* room for the last line before the cut */
    if (gen_script(&s, n, 0x5eed5eedULL) != 0) {
        *err = 1;
        core_buf_cleanup(&s);
        return 0;
    }
    f->in.node.user_data = core_buf_cstr(&s);
    rc = userdata_build(&f->in, &o, &e);
    core_buf_cleanup(&s);
    if (rc == 0) {
        *gz = o.gz_len;
        userdata_output_cleanup(&o);
        return 1;
    }
    if (rc != CORE_E_TOOBIG)
        *err = 1;
    return 0;
}

BENCH(bench_max_script, "userdata/al2023_max_user_script", "searches", 3)
{
    struct fixture f;
    size_t lo = 64, hi = USERDATA_INPUT_MAX, gz = 0, best_gz = 0;
    int err = 0, rc = 1;

    if (fixture_init(&f))
        goto done;
    bench_start(ctx);
    if (!fits(&f, lo, &gz, &err) || fits(&f, hi, &gz, &err))
        goto done;
    while (hi - lo > 1 && !err) { /* invariant: lo fits, hi does not */
        size_t mid = lo + (hi - lo) / 2;
        if (fits(&f, mid, &gz, &err)) {
            lo = mid;
            best_gz = gz;
        } else {
            hi = mid;
        }
    }
    bench_stop(ctx, 1);
    if (err)
        goto done;
    bench_metric(ctx, "max_script_bytes", (double)lo);
    bench_metric(ctx, "gzip_bytes_at_max", (double)best_gz);
    bench_metric(ctx, "script_compression_ratio", (double)lo / (double)(best_gz ? best_gz : 1));
    rc = 0;
done:
    f.in.node.user_data = NULL;
    fixture_cleanup(&f);
    return rc;
}
