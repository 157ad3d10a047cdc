/*
 * k8s/internal.h — what the k8s module's files share and nothing outside uses: the client's
 * streaming request, on which watches are built.
 *
 * Invariants: a stream's on_data and on_done run from the loop; on_done runs exactly once
 * unless the stream is cancelled first; cancel is safe from inside on_data.
 */
#ifndef STOKER_K8S_INTERNAL_H
#define STOKER_K8S_INTERNAL_H

#include "k8s/k8s.h"

struct k8s_stream;

/* Bytes of the body as they arrive (only for 2xx answers). Return 0 to go on, non-zero to stop
 * the stream (on_done then reports CORE_E_CANCELLED). */
typedef int (*k8s_stream_data_fn)(void *ud, const char *data, size_t len);
/* rc 0 when the server ended the stream normally; for a non-2xx answer, the decoded Status
 * (err->http_status, err->service_code) with the rc mapping of k8s_done_fn. */
typedef void (*k8s_stream_done_fn)(void *ud, int rc, const struct core_err *err);

/* A long-lived GET (a watch): authenticated like every request, counted by the QPS limiter
 * when it starts, no total timeout (the server's timeoutSeconds ends it), a low-speed abort
 * after idle_timeout without a byte (0 = none). The answer body is not accumulated. */
int k8s_client_stream(struct k8s_client *c, const char *path, const char *query,
                      core_ns idle_timeout, k8s_stream_data_fn on_data,
                      k8s_stream_done_fn on_done, void *ud, struct k8s_stream **out,
                      struct core_err *err);
/* Cancels without calling on_done. Accepts NULL. */
void k8s_stream_cancel(struct k8s_stream *s);

/* Loads one kubeconfig held in memory (data, len bytes, borrowed) as k8s_config_load_kubeconfig
 * loads a list of one file: name is the file name used in messages, dir (absolute) resolves its
 * relative paths, context NULL = current-context. *out (cleaned with k8s_config_cleanup) is
 * written only on success. For the fuzz target, which must not depend on files. */
int k8s_config_parse_kubeconfig(const char *data, size_t len, const char *name, const char *dir,
                                const char *context, struct k8s_config *out,
                                struct core_err *err) CORE_NODISCARD;

/* Parses one watch line ({"type": ..., "object": {...}}) into its type and object. *obj is a new
 * reference the caller releases with json_decref; written only on success. The object must be a
 * JSON object, the type one of ADDED, MODIFIED, DELETED, BOOKMARK, ERROR, and a BOOKMARK must
 * carry object.metadata.resourceVersion; anything else is CORE_E_PARSE, with the message
 * starting with `what` (e.g. "watch pods"; NULL = "watch"). An ERROR's Status is not
 * interpreted here. Defined in k8s/watch.c; exposed for the fuzz target. */
int k8s_watch_parse_event(const char *line, size_t len, const char *what,
                          enum k8s_event_type *type, json_t **obj, struct core_err *err);

#endif
