/*
 * trace.c — reading and generating workloads (see trace.h).
 *
 * Parsing is strict and line-numbered: a field that is missing, not a
 * number, negative, or so large that times would overflow is an error
 * naming the file, the line and the field.  Lines and files are bounded
 * (VWS_TRACE_MAX_LINE, VWS_TRACE_MAX_ENTRIES) so a huge or hostile file
 * fails cleanly instead of eating the machine.
 */
#define VWS_MODULE "trace"
#include <config.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rng.h"
#include "trace.h"
#include "internal.h"

/* Times in traces are seconds; keep them far from int64 overflow in ms. */
#define MAX_SECONDS INT64_C(1000000000000)

void
vws_trace_release(vws_trace *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        free(t->e[i].image);
    free(t->e);
    t->e = NULL;
    t->n = t->cap = 0;
}

void
vws_trace_add(vws_trace *t, vws_time submit, const vws_lease_request *r,
              long line)
{
    vws_trace_entry *e;

    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 64;
        t->e = vws_reallocarray(t->e, t->cap, sizeof(*t->e));
    }
    e = &t->e[t->n++];
    e->submit = submit;
    e->req = *r;
    e->image = vws_strdup(r->image);
    e->req.image = e->image;
    e->line = line;
}

static int
entry_cmp(const void *a, const void *b)
{
    const vws_trace_entry *x = a, *y = b;

    if (x->submit != y->submit)
        return x->submit < y->submit ? -1 : 1;
    /* stable: generated entries keep their order by line / position */
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x < y ? -1 : x > y;
}

void
vws_trace_sort(vws_trace *t)
{
    size_t i;

    for (i = 0; i < t->n; i++)
        if (!t->e[i].line)
            t->e[i].line = -(long)(t->n - i);   /* keep generation order */
    qsort(t->e, t->n, sizeof(*t->e), entry_cmp);
    for (i = 0; i < t->n; i++)
        if (t->e[i].line < 0)
            t->e[i].line = 0;
}

/* A whole non-negative integer field no larger than MAX. */
static int
field_int(const char *path, long line, const char *name, const char *s,
          int64_t max, int64_t *out)
{
    if (!*s) {
        vws_report_error(VWS_ERR_PARSE, "%s:%ld: field '%s' is empty",
                         path, line, name);
        return -1;
    }
    if (vws_parse_i64(s, out) < 0) {
        vws_report_error(VWS_ERR_PARSE,
                         "%s:%ld: field '%s': '%s' is not an integer%s",
                         path, line, name, s,
                         errno == ERANGE ? " (out of range)" : "");
        return -1;
    }
    if (*out < 0) {
        vws_report_error(VWS_ERR_PARSE, "%s:%ld: field '%s' is negative (%s)",
                         path, line, name, s);
        return -1;
    }
    if (*out > max) {
        vws_report_error(VWS_ERR_LIMIT,
                         "%s:%ld: field '%s' is too large (%s > %" PRId64 ")",
                         path, line, name, s, max);
        return -1;
    }
    return 0;
}

/* Read one line with getline(), refusing lines longer than the limit. */
static ssize_t
read_line(FILE *f, char **buf, size_t *cap, const char *path, long line)
{
    ssize_t n = getline(buf, cap, f);

    if (n > VWS_TRACE_MAX_LINE) {
        vws_report_error(VWS_ERR_LIMIT, "%s:%ld: line longer than %d bytes",
                         path, line, VWS_TRACE_MAX_LINE);
        return -2;
    }
    return n;
}

static int
too_many(const vws_trace *t, const char *path, long line)
{
    if (t->n >= VWS_TRACE_MAX_ENTRIES) {
        vws_report_error(VWS_ERR_LIMIT, "%s:%ld: more than %d requests",
                         path, line, VWS_TRACE_MAX_ENTRIES);
        return 1;
    }
    return 0;
}

static int
parse_paper_line(vws_trace *t, const char *path, long line, char *l,
                 int64_t duration_s)
{
    static const char *const names[10] = {
        "submit_time", "image_uri", "image_size_MB", "nodes", "memory_MB",
        "cpu_percent", "mode", "deadline", "duration", "tag"
    };
    char *f[10];
    char *p = l, *save = NULL, *tok;
    int64_t submit, size, nodes, mem, cpu, deadline = 0, dur;
    vws_lease_request r;
    int n = 0, asap;

    (void)save;
    tok = p;
    for (;;) {
        char *semi = strchr(tok, ';');

        if (n == 10) {
            vws_report_error(VWS_ERR_PARSE,
                             "%s:%ld: more than 10 fields (unknown field '%s')",
                             path, line, vws_trim(tok));
            return -1;
        }
        if (semi)
            *semi = '\0';
        f[n++] = vws_trim(tok);
        if (!semi)
            break;
        tok = semi + 1;
    }
    if (n < 10) {
        vws_report_error(VWS_ERR_PARSE,
                         "%s:%ld: %d fields, expected 10 (missing '%s')",
                         path, line, n, names[n]);
        return -1;
    }
    if (field_int(path, line, names[0], f[0], MAX_SECONDS, &submit) < 0 ||
        field_int(path, line, names[2], f[2], INT64_C(1) << 40, &size) < 0 ||
        field_int(path, line, names[3], f[3], 1000000, &nodes) < 0 ||
        field_int(path, line, names[4], f[4], INT64_C(1) << 40, &mem) < 0 ||
        field_int(path, line, names[5], f[5], 100000, &cpu) < 0 ||
        field_int(path, line, names[8], f[8], MAX_SECONDS, &dur) < 0)
        return -1;
    if (!*f[1]) {
        vws_report_error(VWS_ERR_PARSE, "%s:%ld: field 'image_uri' is empty",
                         path, line);
        return -1;
    }
    if (strcmp(f[6], "RW") && strcmp(f[6], "RO")) {
        vws_report_error(VWS_ERR_PARSE,
                         "%s:%ld: field 'mode' must be RW or RO, not '%s'",
                         path, line, f[6]);
        return -1;
    }
    asap = !strcmp(f[7], "NULL");
    if (!asap && field_int(path, line, names[7], f[7], MAX_SECONDS, &deadline) < 0)
        return -1;
    if (strcmp(f[9], "AR") && strcmp(f[9], "BATCH")) {
        vws_report_error(VWS_ERR_PARSE,
                         "%s:%ld: field 'tag' must be AR or BATCH, not '%s'",
                         path, line, f[9]);
        return -1;
    }
    if (nodes == 0) {
        vws_report_error(VWS_ERR_PARSE, "%s:%ld: field 'nodes' is 0", path, line);
        return -1;
    }
    if (!asap && duration_s > 0)
        dur = duration_s;
    if (dur == 0) {
        vws_report_error(VWS_ERR_PARSE, "%s:%ld: field 'duration' is 0",
                         path, line);
        return -1;
    }
    memset(&r, 0, sizeof(r));
    r.nodes = (int)nodes;
    r.mem_mb = mem;
    r.cpu_pct = cpu;
    r.image = f[1];
    r.image_mb = size;
    if (asap) {
        r.type = VWS_LEASE_ASAP;
        r.duration = VWS_SEC(dur);
    } else {
        r.type = VWS_LEASE_AR;
        r.start = VWS_SEC(submit + deadline);
        r.end = r.start + VWS_SEC(dur);
    }
    vws_trace_add(t, VWS_SEC(submit), &r, line);
    return 0;
}

int
vws_trace_load_paper(vws_trace *t, const char *path, int64_t duration_s)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    long line = 0;
    int ret = -1;

    if (!f) {
        vws_report_system_error("cannot open trace '%s'", path);
        return -1;
    }
    while ((n = read_line(f, &buf, &cap, path, line + 1)) >= 0) {
        char *l, *hash;

        line++;
        if (memchr(buf, '\0', (size_t)n)) {
            vws_report_error(VWS_ERR_PARSE, "%s:%ld: NUL byte in line", path, line);
            goto cleanup;
        }
        if ((hash = strchr(buf, '#')))
            *hash = '\0';
        l = vws_trim(buf);
        if (!*l)
            continue;
        if (too_many(t, path, line) ||
            parse_paper_line(t, path, line, l, duration_s) < 0)
            goto cleanup;
    }
    if (n == -2)
        goto cleanup;
    if (ferror(f)) {
        vws_report_system_error("cannot read trace '%s'", path);
        goto cleanup;
    }
    vws_trace_sort(t);
    ret = 0;
cleanup:
    free(buf);
    fclose(f);
    return ret;
}

int
vws_trace_write_paper(const vws_trace *t, FILE *f)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        const vws_trace_entry *e = &t->e[i];
        const vws_lease_request *r = &e->req;

        if (r->type == VWS_LEASE_AR)
            fprintf(f, "%" PRId64 ";%s;%" PRId64 ";%d;%" PRId64 ";%" PRId64
                    ";RW;%" PRId64 ";%" PRId64 ";AR\n",
                    e->submit / 1000, r->image, r->image_mb, r->nodes,
                    r->mem_mb, r->cpu_pct, (r->start - e->submit) / 1000,
                    (r->end - r->start) / 1000);
        else
            fprintf(f, "%" PRId64 ";%s;%" PRId64 ";%d;%" PRId64 ";%" PRId64
                    ";RW;NULL;%" PRId64 ";BATCH\n",
                    e->submit / 1000, r->image, r->image_mb, r->nodes,
                    r->mem_mb, r->cpu_pct, r->duration / 1000);
    }
    return ferror(f) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* SWF */

void
vws_swf_filter_defaults(vws_swf_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->proc_scale = 1;
    f->images = "6";
    f->image_mb = 600;
    f->mem_mb = 512;
    f->cpu_pct = 50;
    f->seed = 1;
    f->shift = 1;
}

/* Is V in the comma-separated LIST (NULL: everything)? */
static int
in_list(const char *list, int64_t v)
{
    const char *p = list;

    if (!list)
        return 1;
    while (*p) {
        char *end;
        long long x;

        errno = 0;
        x = strtoll(p, &end, 10);
        if (end == p)
            return 0;
        if (x == v)
            return 1;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return 0;
    }
    return 0;
}

static int
check_list(const char *what, const char *list)
{
    const char *p = list;

    if (!list)
        return 0;
    if (!*p)
        goto bad;
    while (*p) {
        char *end;

        errno = 0;
        (void)strtoll(p, &end, 10);
        if (end == p || errno || (*end && *end != ','))
            goto bad;
        p = *end ? end + 1 : end;
        if (*end && !*p)
            goto bad;
    }
    return 0;
bad:
    vws_report_error(VWS_ERR_INVALID_ARG,
                     "%s filter '%s' is not a comma-separated list of integers",
                     what, list);
    return -1;
}

/* Image weights from "N" or "w1,w2,...": returns the count, -1 on error. */
static int
parse_images(const char *spec, double **w)
{
    int64_t n;
    const char *p;
    int k = 0;

    *w = NULL;
    if (!strchr(spec, ',') && vws_parse_i64(spec, &n) == 0) {
        if (n < 1 || n > 10000)
            goto bad;
        *w = vws_calloc((size_t)n, sizeof(**w));
        for (k = 0; k < n; k++)
            (*w)[k] = 1.0;
        return (int)n;
    }
    for (p = spec; *p;) {
        char *end;
        double x;

        errno = 0;
        x = strtod(p, &end);
        if (end == p || errno || x < 0 || (*end && *end != ',') || k >= 10000)
            goto bad;
        *w = vws_reallocarray(*w, (size_t)k + 1, sizeof(**w));
        (*w)[k++] = x;
        p = *end ? end + 1 : end;
    }
    if (k)
        return k;
bad:
    free(*w);
    *w = NULL;
    vws_report_error(VWS_ERR_INVALID_ARG,
                     "image distribution '%s': give a count (uniform) or "
                     "non-negative weights 'w1,w2,...'", spec);
    return -1;
}

static int
pick(vws_rng *rng, const double *w, int n)
{
    double sum = 0, x;
    int i;

    for (i = 0; i < n; i++)
        sum += w[i];
    if (sum <= 0)
        return 0;
    x = vws_rng_double(rng) * sum;
    for (i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* Open PATH, through "gzip -dc" if it ends in ".gz". */
static FILE *
open_maybe_gz(const char *path, pid_t *pid)
{
    size_t len = strlen(path);
    int fds[2];
    FILE *f;

    *pid = -1;
    if (len < 3 || strcmp(path + len - 3, ".gz")) {
        f = fopen(path, "r");
        if (!f)
            vws_report_system_error("cannot open trace '%s'", path);
        return f;
    }
    if (access(path, R_OK) < 0) {
        vws_report_system_error("cannot open trace '%s'", path);
        return NULL;
    }
    if (pipe(fds) < 0) {
        vws_report_system_error("pipe");
        return NULL;
    }
    *pid = fork();
    if (*pid < 0) {
        vws_report_system_error("fork");
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (*pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execlp("gzip", "gzip", "-dc", "--", path, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    if (!f) {
        vws_report_system_error("fdopen");
        close(fds[0]);
    }
    return f;
}

static int
close_maybe_gz(FILE *f, pid_t pid, const char *path, int ok)
{
    int status;

    fclose(f);
    if (pid <= 0)
        return 0;
    if (!ok)
        kill(pid, SIGTERM);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (ok && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
        vws_report_error(VWS_ERR_IO, "cannot decompress '%s' (gzip failed)",
                         path);
        return -1;
    }
    return 0;
}

int
vws_trace_load_swf(vws_trace *t, const char *path, const vws_swf_filter *flt,
                   size_t *skipped)
{
    char *buf = NULL;
    size_t cap = 0, skip = 0, first = t->n, i;
    ssize_t n;
    long line = 0;
    double *w = NULL;
    int nimg, ret = -1;
    vws_rng rng;
    pid_t pid;
    FILE *f;

    if (flt->proc_scale < 1) {
        vws_report_error(VWS_ERR_INVALID_ARG, "processor scale must be >= 1");
        return -1;
    }
    if (check_list("queue", flt->queues) < 0 ||
        check_list("status", flt->statuses) < 0)
        return -1;
    nimg = parse_images(flt->images, &w);
    if (nimg < 0)
        return -1;
    f = open_maybe_gz(path, &pid);
    if (!f) {
        free(w);
        return -1;
    }
    vws_rng_seed(&rng, flt->seed);
    while ((n = read_line(f, &buf, &cap, path, line + 1)) >= 0) {
        int64_t v[18];
        char *p = buf, *end;
        int k;

        line++;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == ';')
            continue;
        for (k = 0; k < 18; k++) {
            double x;

            while (*p == ' ' || *p == '\t')
                p++;
            if (!*p || *p == '\n' || *p == '\r') {
                vws_report_error(VWS_ERR_PARSE,
                                 "%s:%ld: %d fields, SWF has 18", path, line, k);
                goto cleanup;
            }
            /* Integers, except a few averages ("969.56"): read a decimal
             * number, refuse anything else (hex, inf, nan, junk). */
            errno = 0;
            x = strtod(p, &end);
            if (end == p || errno || !isdigit((unsigned char)end[-1]) ||
                strspn(p, "0123456789.+-eE") < (size_t)(end - p) ||
                (*end && !isspace((unsigned char)*end))) {
                vws_report_error(VWS_ERR_PARSE,
                                 "%s:%ld: SWF field %d is not a number",
                                 path, line, k + 1);
                goto cleanup;
            }
            if (x < -1 || x > (double)MAX_SECONDS) {
                vws_report_error(VWS_ERR_PARSE,
                                 "%s:%ld: SWF field %d out of range (%.16g)",
                                 path, line, k + 1, x);
                goto cleanup;
            }
            v[k] = (int64_t)x;
            p = end;
        }
        while (isspace((unsigned char)*p))
            p++;
        if (*p) {
            vws_report_error(VWS_ERR_PARSE,
                             "%s:%ld: more than 18 fields in an SWF line",
                             path, line);
            goto cleanup;
        }
        /* 1 job, 2 submit, 4 run time, 5 allocated procs, 8 requested
         * procs, 11 status, 15 queue */
        if ((flt->job_min || flt->job_max) &&
            (v[0] < flt->job_min || v[0] > flt->job_max))
            continue;
        if ((flt->time_min || flt->time_max) &&
            (v[1] < flt->time_min || v[1] > flt->time_max))
            continue;
        if (!in_list(flt->queues, v[14]) || !in_list(flt->statuses, v[10]))
            continue;
        {
            int64_t procs = v[7] > 0 ? v[7] : v[4];
            vws_lease_request r;
            char *img;
            int which;

            if (v[1] < 0 || v[3] <= 0 || procs <= 0) {
                skip++;
                continue;
            }
            if (too_many(t, path, line))
                goto cleanup;
            memset(&r, 0, sizeof(r));
            r.type = VWS_LEASE_ASAP;
            r.duration = VWS_SEC(v[3]);
            r.nodes = (int)((procs + flt->proc_scale - 1) / flt->proc_scale);
            r.mem_mb = flt->mem_mb;
            r.cpu_pct = flt->cpu_pct;
            r.image_mb = flt->image_mb;
            which = pick(&rng, w, nimg);
            img = vws_asprintf("img%d", which + 1);
            r.image = img;
            vws_trace_add(t, VWS_SEC(v[1]), &r, line);
            free(img);
        }
    }
    if (n == -2)
        goto cleanup;
    if (ferror(f)) {
        vws_report_system_error("cannot read trace '%s'", path);
        goto cleanup;
    }
    ret = 0;
cleanup:
    if (close_maybe_gz(f, pid, path, ret == 0) < 0)
        ret = -1;
    free(buf);
    free(w);
    if (ret == 0) {
        vws_trace_sort(t);
        if (flt->shift && t->n > first) {
            vws_time base = t->e[first].submit;

            for (i = first; i < t->n; i++)
                t->e[i].submit -= base;
        }
    }
    if (skipped)
        *skipped = skip;
    return ret;
}

/* ------------------------------------------------------------------ */
/* AR generator */

void
vws_argen_defaults(vws_argen *g)
{
    memset(g, 0, sizeof(*g));
    g->count = 36;
    g->span_s = 7200;
    g->nodes_min = 2;
    g->nodes_max = 4;
    g->lead_min = 200;
    g->lead_max = 1000;
    g->duration_s = 1800;
    g->images = 6;
    g->image_mb = 600;
    g->mem_mb = 512;
    g->cpu_pct = 50;
    g->seed = 1;
}

int
vws_trace_generate_ar(vws_trace *t, const vws_argen *g)
{
    vws_rng rng;
    size_t i;

    if (g->count > VWS_TRACE_MAX_ENTRIES || g->span_s <= 0 ||
        g->nodes_min < 1 || g->nodes_max < g->nodes_min ||
        g->lead_min < 0 || g->lead_max < g->lead_min || g->duration_s <= 0 ||
        g->images < 1 || g->image_mb < 0 || g->window_s < 0 ||
        g->every_s < 0 || (g->window_s > 0 && g->every_s < g->window_s) ||
        g->span_s > MAX_SECONDS) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "bad AR generator parameters (need count, span > 0, "
                         "1 <= nodes min <= max, 0 <= lead min <= max, "
                         "duration > 0, window <= every)");
        return -1;
    }
    vws_rng_seed(&rng, g->seed);
    for (i = 0; i < g->count; i++) {
        vws_lease_request r;
        int64_t start, lead;
        char *img;

        if (g->window_s > 0) {
            int64_t nwin = g->span_s / g->every_s;
            int64_t k = vws_rng_range(&rng, 1, nwin > 0 ? nwin : 1);

            start = k * g->every_s + vws_rng_range(&rng, 0, g->window_s - 1);
        } else {
            start = vws_rng_range(&rng, g->lead_min, g->span_s);
        }
        lead = vws_rng_range(&rng, g->lead_min, g->lead_max);
        if (lead > start)
            lead = start;
        memset(&r, 0, sizeof(r));
        r.type = VWS_LEASE_AR;
        r.start = VWS_SEC(start);
        r.end = VWS_SEC(start + g->duration_s);
        r.nodes = (int)vws_rng_range(&rng, g->nodes_min, g->nodes_max);
        r.mem_mb = g->mem_mb;
        r.cpu_pct = g->cpu_pct;
        r.image_mb = g->image_mb;
        img = vws_asprintf("img%" PRId64, vws_rng_range(&rng, 1, g->images));
        r.image = img;
        vws_trace_add(t, VWS_SEC(start - lead), &r, 0);
        free(img);
    }
    vws_trace_sort(t);
    return 0;
}

void
vws_asapgen_defaults(vws_asapgen *g)
{
    memset(g, 0, sizeof(*g));
    g->span_s = 1200;
    g->interval_min = 5;
    g->interval_max = 30;
    g->nodes_min = 1;
    g->nodes_max = 6;
    g->duration_min = 30;
    g->duration_max = 120;
    g->images = "8";
    g->image_mb = 256;
    g->mem_mb = 512;
    g->cpu_pct = 50;
    g->seed = 1;
}

int
vws_trace_generate_asap(vws_trace *t, const vws_asapgen *g)
{
    vws_rng rng;
    double *w = NULL;
    int64_t at;
    int nimg;

    if (g->span_s <= 0 || g->span_s > MAX_SECONDS || g->interval_min < 1 ||
        g->interval_max < g->interval_min || g->nodes_min < 1 ||
        g->nodes_max < g->nodes_min || g->duration_min < 1 ||
        g->duration_max < g->duration_min || g->image_mb < 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "bad ASAP generator parameters (need span > 0, "
                         "1 <= interval, nodes and duration min <= max)");
        return -1;
    }
    nimg = parse_images(g->images, &w);
    if (nimg < 0)
        return -1;
    vws_rng_seed(&rng, g->seed);
    for (at = 0; at <= g->span_s && t->n < VWS_TRACE_MAX_ENTRIES;
         at += vws_rng_range(&rng, g->interval_min, g->interval_max)) {
        vws_lease_request r;
        char *img;

        memset(&r, 0, sizeof(r));
        r.type = VWS_LEASE_ASAP;
        r.nodes = (int)vws_rng_range(&rng, g->nodes_min, g->nodes_max);
        r.duration = VWS_SEC(vws_rng_range(&rng, g->duration_min, g->duration_max));
        r.mem_mb = g->mem_mb;
        r.cpu_pct = g->cpu_pct;
        r.image_mb = g->image_mb;
        img = vws_asprintf("img%d", pick(&rng, w, nimg) + 1);
        r.image = img;
        vws_trace_add(t, VWS_SEC(at), &r, 0);
        free(img);
    }
    free(w);
    vws_trace_sort(t);
    return 0;
}
