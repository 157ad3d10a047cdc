/*
 * core/err.c — the caller-owned error struct and the code-to-text table.
 *
 * Invariant: every string field of struct core_err is always NUL-terminated and bounded; a
 * message longer than the field is cut, never overflowed.
 */
#include "core/core.h"

#include <stdio.h>
#include <string.h>

void core_err_clear(struct core_err *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

int core_err_setv(struct core_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        /* A new error: no service detail of an earlier one may linger (callers that have it
         * add it afterwards with core_err_set_service). */
        err->code = code;
        err->http_status = 0;
        err->service_code[0] = '\0';
        err->request_id[0] = '\0';
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return code;
}

int core_err_set(struct core_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    core_err_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

void core_err_prefix(struct core_err *err, const char *fmt, ...)
{
    char prefix[CORE_ERR_MSG_MAX];
    char old[CORE_ERR_MSG_MAX];
    va_list ap;

    if (!err)
        return;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    core_strlcpy(old, err->message, sizeof old);
    /* Built piecewise: the result is cut at the field's size on purpose. */
    core_strlcpy(err->message, prefix, sizeof err->message);
    if (old[0]) {
        size_t n = strlen(err->message);
        core_strlcpy(err->message + n, ": ", sizeof err->message - n);
        n = strlen(err->message);
        core_strlcpy(err->message + n, old, sizeof err->message - n);
    }
}

void core_err_set_service(struct core_err *err, long http_status, const char *service_code,
                          const char *request_id)
{
    if (!err)
        return;
    err->http_status = http_status;
    if (service_code)
        core_strlcpy(err->service_code, service_code, sizeof err->service_code);
    if (request_id)
        core_strlcpy(err->request_id, request_id, sizeof err->request_id);
}

const char *core_strerror(int code)
{
    switch (code) {
    case CORE_OK: return "success";
    case CORE_E_NOMEM: return "out of memory";
    case CORE_E_INVAL: return "invalid argument";
    case CORE_E_PARSE: return "malformed input";
    case CORE_E_TOOBIG: return "input exceeds its limit";
    case CORE_E_TIMEOUT: return "timed out";
    case CORE_E_TRANSPORT: return "transport failure";
    case CORE_E_TLS: return "TLS failure";
    case CORE_E_HTTP: return "HTTP error status";
    case CORE_E_THROTTLED: return "throttled";
    case CORE_E_NOTFOUND: return "not found";
    case CORE_E_CONFLICT: return "conflict";
    case CORE_E_AUTH: return "authentication failed";
    case CORE_E_CANCELLED: return "cancelled";
    case CORE_E_SERVICE: return "service error";
    case CORE_E_STATE: return "invalid in the current state";
    case CORE_E_UNSUPPORTED: return "unsupported";
    default: break;
    }
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}
