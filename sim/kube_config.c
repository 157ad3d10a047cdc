/*
 * sim/kube_config.c — the kubeconfig `stoker sim serve` writes for kubectl and for a stoker
 * controller pointed at the emulated API: one cluster, one user with a static bearer token,
 * one context, all named "stoker-sim".
 *
 * Invariants: the YAML is produced by libyaml's emitter (never by string pasting, so a server
 * URL cannot break the document); the file is written whole — a fresh temporary file created
 * with O_EXCL|O_NOFOLLOW, mode 0600, then renamed over the path — so a reader never sees half
 * a file and a planted symlink cannot redirect the write.
 */
#include "sim/sim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#define KCFG_NAME "stoker-sim"
/* Not a secret: the emulated API accepts any bearer token; kubectl just needs one to send. */
#define KCFG_TOKEN "stoker-sim-token"

static int emit_write(void *ud, unsigned char *buf, size_t size)
{
    return core_buf_append(ud, buf, size) == 0;
}

static int scalar(yaml_emitter_t *em, const char *s)
{
    yaml_event_t ev;
    if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
                                      YAML_ANY_SCALAR_STYLE))
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int map_begin(yaml_emitter_t *em)
{
    yaml_event_t ev;
    if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE))
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int map_end(yaml_emitter_t *em)
{
    yaml_event_t ev;
    if (!yaml_mapping_end_event_initialize(&ev))
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int seq_begin(yaml_emitter_t *em)
{
    yaml_event_t ev;
    if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE))
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int seq_end(yaml_emitter_t *em)
{
    yaml_event_t ev;
    if (!yaml_sequence_end_event_initialize(&ev))
        return -1;
    return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int kv(yaml_emitter_t *em, const char *k, const char *v)
{
    return scalar(em, k) == 0 && scalar(em, v) == 0 ? 0 : -1;
}

/* "- name: NAME\n  WHAT: {k1: v1, k2: v2}" as one entry of a named list. */
static int named_entry(yaml_emitter_t *em, const char *what, const char *k1, const char *v1,
                       const char *k2, const char *v2)
{
    if (map_begin(em) || kv(em, "name", KCFG_NAME) || scalar(em, what) || map_begin(em) ||
        kv(em, k1, v1) || (k2 && kv(em, k2, v2)) || map_end(em) || map_end(em))
        return -1;
    return 0;
}

static int emit_config(yaml_emitter_t *em, const char *server)
{
    yaml_event_t ev;

    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
        !yaml_emitter_emit(em, &ev) ||
        !yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
        !yaml_emitter_emit(em, &ev))
        return -1;
    if (map_begin(em) || kv(em, "apiVersion", "v1") || kv(em, "kind", "Config") ||
        scalar(em, "clusters") || seq_begin(em) ||
        named_entry(em, "cluster", "server", server, NULL, NULL) || seq_end(em) ||
        scalar(em, "users") || seq_begin(em) ||
        named_entry(em, "user", "token", KCFG_TOKEN, NULL, NULL) || seq_end(em) ||
        scalar(em, "contexts") || seq_begin(em) ||
        named_entry(em, "context", "cluster", KCFG_NAME, "user", KCFG_NAME) || seq_end(em) ||
        kv(em, "current-context", KCFG_NAME) || map_end(em))
        return -1;
    if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(em, &ev) ||
        !yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
        return -1;
    return yaml_emitter_flush(em) ? 0 : -1;
}

int sim_kube_write_kubeconfig(const char *server, const char *path, struct core_err *err)
{
    yaml_emitter_t em;
    struct core_buf b;
    char tmp[4096];
    int fd = -1, rc = 0, have_em = 0, created = 0;
    size_t off = 0;

    if (!server || !*server || !path || !*path)
        return core_err_set(err, CORE_E_INVAL, "kubeconfig: server and path are required");
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return core_err_set(err, CORE_E_INVAL, "kubeconfig %s: path too long", path);
    core_buf_init(&b, 64 * 1024);
    if (!yaml_emitter_initialize(&em)) {
        rc = core_err_set(err, CORE_E_NOMEM, "kubeconfig %s: out of memory", path);
        goto out;
    }
    have_em = 1;
    yaml_emitter_set_output(&em, emit_write, &b);
    yaml_emitter_set_unicode(&em, 1);
    if (emit_config(&em, server) != 0) {
        rc = core_err_set(err, CORE_E_NOMEM, "kubeconfig %s: cannot produce the YAML: %s", path,
                          em.problem ? em.problem : "out of memory");
        goto out;
    }
    /* A fresh file: an old PATH.tmp (another mode, a symlink) must not decide where the token
     * goes or who can read it. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        rc = core_err_set(err, -errno, "kubeconfig %s: cannot remove stale %s: %s", path, tmp,
                          strerror(errno));
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = core_err_set(err, -errno, "kubeconfig %s: cannot create %s: %s", path, tmp,
                          strerror(errno));
        goto out;
    }
    created = 1;
    while (off < b.len) {
        ssize_t w = write(fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = core_err_set(err, w < 0 ? -errno : CORE_E_INVAL,
                              "kubeconfig %s: write failed: %s", path,
                              w < 0 ? strerror(errno) : "no progress");
            goto out;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        fd = -1;
        rc = core_err_set(err, -errno, "kubeconfig %s: close failed: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0)
        rc = core_err_set(err, -errno, "kubeconfig %s: rename failed: %s", path,
                          strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    if (rc && created)
        unlink(tmp);
    if (have_em)
        yaml_emitter_delete(&em);
    core_buf_cleanup(&b);
    return rc;
}
