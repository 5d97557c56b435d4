/*
 * error.h — the one error type of vws.
 *
 * A failing function reports its error exactly once, where it happens, with
 * vws_report_error(); it then returns -1 (or NULL) and its callers only pass
 * the failure up.  The report is kept per thread (like libvirt's last error):
 * main() prints it, a service turns it into a SOAP fault at its edge.  A later
 * report replaces an earlier one, so the first failure must stop the work.
 *
 * Each source file defines VWS_MODULE ("xml", "config", ...) before including
 * this header; the macro records module, file, function and line.
 */
#ifndef VWS_ERROR_H
#define VWS_ERROR_H

#include <stdarg.h>

typedef enum {
    VWS_ERR_OK = 0,
    VWS_ERR_INTERNAL,     /* a bug or an impossible state */
    VWS_ERR_NOMEM,
    VWS_ERR_SYSTEM,       /* a system call failed (errno in the message) */
    VWS_ERR_IO,           /* cannot read or write a file or socket */
    VWS_ERR_INVALID_ARG,  /* a caller passed a bad value */
    VWS_ERR_PARSE,        /* malformed input: not XML, bad syntax */
    VWS_ERR_INVALID,      /* well-formed but not valid against the schema */
    VWS_ERR_LIMIT,        /* input too large or too deep */
    VWS_ERR_SECURITY,     /* hostile input: DTD, entities, traversal */
    VWS_ERR_CONFIG,       /* a bad configuration file or option */
    VWS_ERR_NOT_FOUND,
    VWS_ERR_EXISTS,
    VWS_ERR_DENIED,       /* authorization refused */
    VWS_ERR_STATE,        /* operation not allowed in the current state */
    VWS_ERR_UNSUPPORTED,
    VWS_ERR_TIMEOUT,
    VWS_ERR_LAST
} vws_error_code;

typedef struct vws_error {
    vws_error_code code;
    const char *module;   /* static string, e.g. "xml" */
    const char *file;     /* static string from __FILE__ */
    const char *func;
    int line;
    char message[1024];   /* human text, starts lowercase, quotes its subject */
} vws_error;

/* Record an error for this thread.  Use through the macro below. */
void vws_error_report_full(vws_error_code code, const char *module,
                           const char *file, const char *func, int line,
                           const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#ifndef VWS_MODULE
# define VWS_MODULE "vws"
#endif

#define vws_report_error(code, ...) \
    vws_error_report_full((code), VWS_MODULE, __FILE__, __func__, __LINE__, \
                          __VA_ARGS__)

/* Report a failed system call: the message gets ": strerror(errno)" added. */
#define vws_report_system_error(...) \
    vws_error_report_system_full(VWS_MODULE, __FILE__, __func__, __LINE__, \
                                 __VA_ARGS__)
void vws_error_report_system_full(const char *module, const char *file,
                                  const char *func, int line,
                                  const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The last error of this thread, or NULL if none since vws_error_reset().
 * The pointer stays valid until the next report or reset on this thread. */
const vws_error *vws_error_last(void);

/* The last message, or "unknown error" when nothing was reported. */
const char *vws_error_message(void);
vws_error_code vws_error_code_last(void);

/* Forget the last error of this thread. */
void vws_error_reset(void);

/* Short stable name of a code ("parse", "invalid", ...), for faults and logs. */
const char *vws_error_code_name(vws_error_code code);
/* The code named NAME (as vws_error_code_name() gives it), or
 * VWS_ERR_INTERNAL for an unknown name.  Reports nothing. */
vws_error_code vws_error_code_parse(const char *name);

#endif /* VWS_ERROR_H */
