/*
 * error.c — per-thread last error (see error.h).
 *
 * Every report is also written to the log at debug level with its origin, so
 * an admin running with "log_level = debug" sees where each failure began.
 */
#define VWS_MODULE "error"
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "log.h"

static _Thread_local vws_error last_error;
static _Thread_local int have_error;

static const char *const code_names[VWS_ERR_LAST] = {
    [VWS_ERR_OK] = "ok",
    [VWS_ERR_INTERNAL] = "internal",
    [VWS_ERR_NOMEM] = "no-memory",
    [VWS_ERR_SYSTEM] = "system",
    [VWS_ERR_IO] = "io",
    [VWS_ERR_INVALID_ARG] = "invalid-argument",
    [VWS_ERR_PARSE] = "parse",
    [VWS_ERR_INVALID] = "invalid",
    [VWS_ERR_LIMIT] = "limit",
    [VWS_ERR_SECURITY] = "security",
    [VWS_ERR_CONFIG] = "config",
    [VWS_ERR_NOT_FOUND] = "not-found",
    [VWS_ERR_EXISTS] = "exists",
    [VWS_ERR_DENIED] = "denied",
    [VWS_ERR_STATE] = "state",
    [VWS_ERR_UNSUPPORTED] = "unsupported",
    [VWS_ERR_TIMEOUT] = "timeout",
};

const char *
vws_error_code_name(vws_error_code code)
{
    if ((int)code < 0 || code >= VWS_ERR_LAST || !code_names[code])
        return "unknown";
    return code_names[code];
}

vws_error_code
vws_error_code_parse(const char *name)
{
    for (int c = 0; name && c < VWS_ERR_LAST; c++)
        if (code_names[c] && strcmp(code_names[c], name) == 0)
            return (vws_error_code)c;
    return VWS_ERR_INTERNAL;
}

static void
error_set(vws_error_code code, const char *module, const char *file,
          const char *func, int line, const char *fmt, va_list ap,
          const char *suffix)
{
    vws_error *e = &last_error;
    size_t n;

    e->code = code;
    e->module = module;
    e->file = file;
    e->func = func;
    e->line = line;
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    if (suffix) {
        n = strlen(e->message);
        snprintf(e->message + n, sizeof(e->message) - n, ": %s", suffix);
    }
    have_error = 1;
    vws_log_full(VWS_LOG_DEBUG, module, "%s:%d %s(): %s [%s]", file, line,
                 func, e->message, vws_error_code_name(code));
}

void
vws_error_report_full(vws_error_code code, const char *module,
                      const char *file, const char *func, int line,
                      const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    error_set(code, module, file, func, line, fmt, ap, NULL);
    va_end(ap);
}

void
vws_error_report_system_full(const char *module, const char *file,
                             const char *func, int line, const char *fmt, ...)
{
    va_list ap;
    char buf[256];
    int saved = errno;
    const char *msg = strerror_r(saved, buf, sizeof(buf));

    va_start(ap, fmt);
    error_set(saved == ENOMEM ? VWS_ERR_NOMEM : VWS_ERR_SYSTEM, module, file,
              func, line, fmt, ap, msg);
    va_end(ap);
    errno = saved;
}

const vws_error *
vws_error_last(void)
{
    return have_error ? &last_error : NULL;
}

const char *
vws_error_message(void)
{
    return have_error ? last_error.message : "unknown error";
}

vws_error_code
vws_error_code_last(void)
{
    return have_error ? last_error.code : VWS_ERR_OK;
}

void
vws_error_reset(void)
{
    have_error = 0;
    last_error.code = VWS_ERR_OK;
    last_error.message[0] = '\0';
}
