/*
 * log.c — the process-wide logger (see log.h).
 */
#define VWS_MODULE "log"
#include <config.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "log.h"
#include "util.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static vws_log_level log_level = VWS_LOG_INFO;
static vws_log_target log_target = VWS_LOG_TO_STDERR;
static const char *log_ident = "vws";
static char *log_path;
static FILE *log_file;

static const char *const level_names[] = {
    [VWS_LOG_ERROR] = "error",
    [VWS_LOG_WARN] = "warn",
    [VWS_LOG_INFO] = "info",
    [VWS_LOG_DEBUG] = "debug",
};

void
vws_log_set_ident(const char *ident)
{
    log_ident = ident;
}

void
vws_log_set_level(vws_log_level level)
{
    log_level = level;
}

vws_log_level
vws_log_get_level(void)
{
    return log_level;
}

int
vws_log_level_parse(const char *name)
{
    for (size_t i = 0; i < VWS_N_ELEMENTS(level_names); i++)
        if (strcmp(name, level_names[i]) == 0)
            return (int)i;
    if (strcmp(name, "warning") == 0)
        return VWS_LOG_WARN;
    return -1;
}

const char *
vws_log_level_name(vws_log_level level)
{
    if ((size_t)level >= VWS_N_ELEMENTS(level_names))
        return "unknown";
    return level_names[level];
}

int
vws_log_open(vws_log_target target, const char *path)
{
    FILE *f = NULL;

    if (target == VWS_LOG_TO_FILE) {
        if (!path || !*path) {
            vws_report_error(VWS_ERR_INVALID_ARG, "log target 'file' needs a path");
            return -1;
        }
        if (!(f = fopen(path, "ae"))) {
            vws_report_system_error("cannot open log file '%s'", path);
            return -1;
        }
        setvbuf(f, NULL, _IOLBF, 0);
    }
    pthread_mutex_lock(&log_lock);
    if (log_file)
        fclose(log_file);
    free(log_path);
    log_path = path ? vws_strdup(path) : NULL;
    log_file = f;
    if (log_target == VWS_LOG_TO_SYSLOG && target != VWS_LOG_TO_SYSLOG)
        closelog();
    if (target == VWS_LOG_TO_SYSLOG)
        openlog(log_ident, LOG_PID, LOG_DAEMON);
    log_target = target;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

int
vws_log_reopen(void)
{
    int ret = 0;

    pthread_mutex_lock(&log_lock);
    if (log_target == VWS_LOG_TO_FILE && log_path) {
        FILE *f = fopen(log_path, "ae");
        if (f) {
            setvbuf(f, NULL, _IOLBF, 0);
            if (log_file)
                fclose(log_file);
            log_file = f;
        } else {
            ret = -1;   /* keep writing to the old file */
        }
    }
    pthread_mutex_unlock(&log_lock);
    return ret;
}

void
vws_log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    free(log_path);
    log_path = NULL;
    if (log_target == VWS_LOG_TO_SYSLOG)
        closelog();
    log_target = VWS_LOG_TO_STDERR;
    pthread_mutex_unlock(&log_lock);
}

void
vws_log_full(vws_log_level level, const char *module, const char *fmt, ...)
{
    static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    char msg[2048];
    char stamp[40];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    int saved = errno;

    if (level > log_level)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log_lock);
    if (log_target == VWS_LOG_TO_SYSLOG) {
        syslog(syslog_prio[level], "%s %s: %s", level_names[level], module, msg);
    } else {
        FILE *out = log_target == VWS_LOG_TO_FILE && log_file ? log_file : stderr;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        fprintf(out, "%s.%03ldZ %s[%ld] %s %s: %s\n", stamp,
                ts.tv_nsec / 1000000L, log_ident, (long)getpid(),
                level_names[level], module, msg);
    }
    pthread_mutex_unlock(&log_lock);
    errno = saved;
}
