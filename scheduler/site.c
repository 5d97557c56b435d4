/*
 * site.c — the site model's options, their defaults and a small
 * "key = value" file reader (the option table in common/config.c can take
 * over once it exists; the table below is already in its spirit).
 */
#define VWS_MODULE "sched"
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "site.h"
#include "internal.h"

void
vws_site_defaults(vws_site *s)
{
    memset(s, 0, sizeof(*s));
    s->hosts = 8;
    s->vms_per_host = 2;
    s->memory_mb = 1024;
    s->cpu_pct = 200;
    s->io_slots = 0;
    s->bandwidth_mbps = 100.0;
    s->local_copy = VWS_SEC(60);
    s->cache_policy = VWS_CACHE_NONE;
    s->cache_mb = 0;
    s->dedup = 0;
}

enum opt_type { OPT_INT, OPT_SIZE, OPT_DOUBLE, OPT_SECONDS, OPT_POLICY,
                OPT_BOOL };

static const struct site_option {
    const char *name;
    enum opt_type type;
    size_t offset;
    int64_t min, max;
} options[] = {
    { "hosts", OPT_SIZE, offsetof(vws_site, hosts), 1, 1000000 },
    { "vms_per_host", OPT_INT, offsetof(vws_site, vms_per_host), 1, 4096 },
    { "memory_mb", OPT_INT, offsetof(vws_site, memory_mb), 0, INT64_C(1) << 40 },
    { "cpu_pct", OPT_INT, offsetof(vws_site, cpu_pct), 0, 1000000 },
    { "io_slots", OPT_INT, offsetof(vws_site, io_slots), 0, 1000000 },
    { "bandwidth_mbps", OPT_DOUBLE, offsetof(vws_site, bandwidth_mbps), 0, 0 },
    { "local_copy_s", OPT_SECONDS, offsetof(vws_site, local_copy), 0, 86400 },
    { "cache_policy", OPT_POLICY, offsetof(vws_site, cache_policy), 0, 0 },
    { "cache_mb", OPT_INT, offsetof(vws_site, cache_mb), 0, INT64_C(1) << 40 },
    { "dedup", OPT_BOOL, offsetof(vws_site, dedup), 0, 1 },
    { "admit_late", OPT_BOOL, offsetof(vws_site, admit_late), 0, 1 },
};

int
vws_site_set(vws_site *s, const char *key, const char *value,
             const char *where)
{
    const struct site_option *o = NULL;
    char *p = (char *)s;
    int64_t v;
    size_t i;

    for (i = 0; i < VWS_N_ELEMENTS(options); i++)
        if (!strcmp(options[i].name, key))
            o = &options[i];
    if (!o) {
        vws_report_error(VWS_ERR_CONFIG, "%s: unknown site option '%s'",
                         where, key);
        return -1;
    }
    switch (o->type) {
    case OPT_POLICY:
        if (vws_cache_policy_parse(value, (vws_cache_policy *)(p + o->offset)) < 0) {
            vws_report_error(VWS_ERR_CONFIG,
                             "%s: cache_policy must be lru, lfu or none, not '%s'",
                             where, value);
            return -1;
        }
        return 0;
    case OPT_DOUBLE: {
        char *end;
        double d;

        errno = 0;
        d = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(d) || d <= 0 || d > 1e9) {
            vws_report_error(VWS_ERR_CONFIG,
                             "%s: '%s' must be a positive number, not '%s'",
                             where, key, value);
            return -1;
        }
        *(double *)(p + o->offset) = d;
        return 0;
    }
    case OPT_BOOL:
        if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1"))
            *(int *)(p + o->offset) = 1;
        else if (!strcmp(value, "no") || !strcmp(value, "false") ||
                 !strcmp(value, "0"))
            *(int *)(p + o->offset) = 0;
        else {
            vws_report_error(VWS_ERR_CONFIG,
                             "%s: '%s' must be yes or no, not '%s'",
                             where, key, value);
            return -1;
        }
        return 0;
    default:
        break;
    }
    if (vws_parse_i64(value, &v) < 0 || v < o->min || v > o->max) {
        vws_report_error(VWS_ERR_CONFIG,
                         "%s: '%s' must be an integer in [%lld, %lld], not '%s'",
                         where, key, (long long)o->min, (long long)o->max,
                         value);
        return -1;
    }
    switch (o->type) {
    case OPT_SIZE: *(size_t *)(p + o->offset) = (size_t)v; break;
    case OPT_SECONDS: *(vws_time *)(p + o->offset) = VWS_SEC(v); break;
    default: *(int64_t *)(p + o->offset) = v; break;
    }
    return 0;
}

int
vws_site_load(vws_site *s, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL, *where = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int ret = -1;

    if (!f) {
        vws_report_system_error("cannot open site file '%s'", path);
        return -1;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        char *l, *eq, *hash;

        lineno++;
        if (len > 4096) {
            vws_report_error(VWS_ERR_LIMIT, "%s:%ld: line too long", path, lineno);
            goto cleanup;
        }
        if ((hash = strchr(line, '#')))
            *hash = '\0';
        l = vws_trim(line);
        if (!*l || !strcmp(l, "[site]"))
            continue;
        free(where);
        where = vws_asprintf("%s:%ld", path, lineno);
        eq = strchr(l, '=');
        if (!eq) {
            vws_report_error(VWS_ERR_CONFIG, "%s: expected 'key = value', got '%s'",
                             where, l);
            goto cleanup;
        }
        *eq = '\0';
        if (vws_site_set(s, vws_trim(l), vws_trim(eq + 1), where) < 0)
            goto cleanup;
    }
    if (ferror(f)) {
        vws_report_system_error("cannot read site file '%s'", path);
        goto cleanup;
    }
    ret = 0;
cleanup:
    free(where);
    free(line);
    fclose(f);
    return ret;
}

double
vws_site_mb_per_s(const vws_site *s)
{
    return s->bandwidth_mbps / 8.0;
}

vws_time
vws_site_transfer_time(const vws_site *s, double mb)
{
    return (vws_time)ceil(mb / vws_site_mb_per_s(s) * 1000.0);
}
