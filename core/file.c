/*
 * core/file.c — reading a whole small file from outside (tokens, certificates, config files)
 * within an explicit limit.
 *
 * Invariants: only regular files are read (a FIFO or device planted at the path is refused,
 * and the open never blocks); the size is checked before and while reading; the content never
 * appears in an error message; every byte that held the content and is dropped is wiped, since
 * these files are often secrets.
 */
#include "core/core.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int core_read_file(const char *what, const char *path, size_t limit, char **out,
                   size_t *len_out, struct core_err *err)
{
    struct core_buf b;
    struct stat st;
    char chunk[4096];
    int fd, rc = 0;

    core_buf_init(&b, limit);
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        return core_err_set(err, e == ENOENT ? CORE_E_NOTFOUND : -e, "%s %s: cannot open: %s",
                            what, path, strerror(e));
    }
    if (fstat(fd, &st) != 0) {
        int e = errno;
        rc = core_err_set(err, -e, "%s %s: cannot stat: %s", what, path, strerror(e));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = core_err_set(err, CORE_E_INVAL, "%s %s: expected a regular file", what, path);
        goto done;
    }
    if (st.st_size < 0 || (unsigned long long)st.st_size > limit) {
        rc = core_err_set(err, CORE_E_TOOBIG, "%s %s: %lld bytes, more than the limit of %zu",
                          what, path, (long long)st.st_size, limit);
        goto done;
    }
    rc = core_buf_reserve(&b, (size_t)st.st_size);
    if (rc) {
        rc = core_err_set(err, rc, "%s %s: out of memory", what, path);
        goto done;
    }
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            rc = core_err_set(err, -e, "%s %s: read failed: %s", what, path, strerror(e));
            goto done;
        }
        if (n == 0)
            break;
        rc = core_buf_append(&b, chunk, (size_t)n);
        if (rc == CORE_E_TOOBIG) {
            rc = core_err_set(err, rc, "%s %s: more than the limit of %zu bytes", what, path,
                              limit);
            goto done;
        }
        if (rc) {
            rc = core_err_set(err, rc, "%s %s: out of memory", what, path);
            goto done;
        }
    }
    rc = core_buf_steal(&b, out, len_out);
    if (rc)
        rc = core_err_set(err, rc, "%s %s: out of memory", what, path);
done:
    explicit_bzero(chunk, sizeof chunk);
    if (b.data)
        explicit_bzero(b.data, b.cap);
    core_buf_cleanup(&b);
    close(fd);
    return rc;
}
