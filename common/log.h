/*
 * log.h — logging for daemons and tools.
 *
 * One process-wide logger with a level and a target: stderr (the default),
 * a file (appended, reopened by vws_log_reopen() after logrotate), or syslog.
 * Lines look like
 *     2026-11-23T10:00:00.123Z repository[1234] warn acl: cannot open 'x'
 * Thread-safe: each line is written whole.
 */
#ifndef VWS_LOG_H
#define VWS_LOG_H

typedef enum {
    VWS_LOG_ERROR = 0,
    VWS_LOG_WARN,
    VWS_LOG_INFO,
    VWS_LOG_DEBUG,
} vws_log_level;

typedef enum {
    VWS_LOG_TO_STDERR = 0,
    VWS_LOG_TO_FILE,
    VWS_LOG_TO_SYSLOG,
} vws_log_target;

/* Set the program name shown in each line (a static string). */
void vws_log_set_ident(const char *ident);
void vws_log_set_level(vws_log_level level);
vws_log_level vws_log_get_level(void);

/* Parse "error", "warn", "info", "debug"; -1 for anything else. */
int vws_log_level_parse(const char *name);
const char *vws_log_level_name(vws_log_level level);

/* Send logs to TARGET.  For VWS_LOG_TO_FILE, PATH names the file; it is
 * opened now (0 on success, -1 with an error reported).  PATH is copied. */
int vws_log_open(vws_log_target target, const char *path);
/* Reopen the log file (after rotation); no-op for other targets. */
int vws_log_reopen(void);
void vws_log_close(void);

void vws_log_full(vws_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define VWS_LOG(level, ...) \
    do { \
        if ((level) <= vws_log_get_level()) \
            vws_log_full((level), VWS_MODULE, __VA_ARGS__); \
    } while (0)
#define VWS_ERROR(...) VWS_LOG(VWS_LOG_ERROR, __VA_ARGS__)
#define VWS_WARN(...)  VWS_LOG(VWS_LOG_WARN, __VA_ARGS__)
#define VWS_INFO(...)  VWS_LOG(VWS_LOG_INFO, __VA_ARGS__)
#define VWS_DEBUG(...) VWS_LOG(VWS_LOG_DEBUG, __VA_ARGS__)

#endif /* VWS_LOG_H */
