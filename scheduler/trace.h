/*
 * trace.h — workloads for vws-sim: the paper's trace format, the Standard
 * Workload Format of the Parallel Workloads Archive, and a generator of
 * advance-reservation traces.
 *
 * Paper format (one request a line, ';' separated, '#' comments):
 *   submit;image_uri;image_MB;nodes;memory_MB;cpu_pct;mode;deadline;duration;tag
 * deadline: seconds after submission when the workspace must be available
 * (an AR from submit+deadline for duration), or NULL for ASAP.
 *
 * Every error names the file and line: "t.trace:12: field 'nodes' ...".
 * Ownership: a vws_trace owns its entries and their image strings.
 */
#ifndef VWS_TRACE_H
#define VWS_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clock.h"
#include "lease.h"

typedef struct vws_trace_entry {
    vws_time submit;
    vws_lease_request req;   /* req.image points at image below */
    char *image;
    long line;               /* source line, 0 if generated */
} vws_trace_entry;

typedef struct vws_trace {
    vws_trace_entry *e;
    size_t n, cap;
} vws_trace;

#define VWS_TRACE_INIT { NULL, 0, 0 }
#define VWS_TRACE_MAX_ENTRIES 20000000
#define VWS_TRACE_MAX_LINE 65536

void vws_trace_release(vws_trace *t);
/* Append a copy of R submitted at SUBMIT. */
void vws_trace_add(vws_trace *t, vws_time submit, const vws_lease_request *r,
                   long line);
/* Sort by submit time, stable. */
void vws_trace_sort(vws_trace *t);

/* Read a paper-format trace.  DURATION_S > 0 replaces every AR duration
 * (Table 1's 1800 s; the files say 60 s).  0, or -1 with file:line. */
int vws_trace_load_paper(vws_trace *t, const char *path, int64_t duration_s);
/* Write T in the paper format. */
int vws_trace_write_paper(const vws_trace *t, FILE *f);

typedef struct vws_swf_filter {
    const char *queues;      /* "1" or "1,4"; NULL: all */
    const char *statuses;    /* "1"; NULL: all */
    int64_t job_min, job_max;     /* job numbers, inclusive; 0/0: all */
    int64_t time_min, time_max;   /* submit seconds, inclusive; 0/0: all */
    int64_t proc_scale;      /* nodes = ceil(processors / scale); >= 1 */
    const char *images;      /* "N" (N images, uniform) or "w1,w2,..." */
    int64_t image_mb;
    int64_t mem_mb, cpu_pct; /* per node */
    uint64_t seed;
    int shift;               /* first submit becomes 0 */
} vws_swf_filter;

void vws_swf_filter_defaults(vws_swf_filter *f);

/* Read an SWF log (gzip-compressed if it ends in .gz).  Jobs are ASAP
 * leases of run time as duration.  Jobs without a run time or processors
 * are skipped (counted in *SKIPPED if not NULL). */
int vws_trace_load_swf(vws_trace *t, const char *path,
                       const vws_swf_filter *f, size_t *skipped);

typedef struct vws_argen {
    size_t count;
    int64_t span_s;          /* start times within [lead_max, span_s] */
    int64_t nodes_min, nodes_max;
    int64_t lead_min, lead_max;   /* submit = start - lead */
    int64_t duration_s;
    int64_t window_s, every_s;    /* 0: uniform; else windows of window_s
                                     every every_s seconds */
    int64_t images, image_mb;
    int64_t mem_mb, cpu_pct;
    uint64_t seed;
} vws_argen;

void vws_argen_defaults(vws_argen *g);
/* Generate AR requests into T.  0, or -1 for bad parameters. */
int vws_trace_generate_ar(vws_trace *t, const vws_argen *g);

/* ASAP stress traces (seed 000 §5.3): a request every interval_min to
 * interval_max seconds for span_s, nodes and duration uniform in their
 * ranges, images drawn by IMAGES ("N" uniform or "w1,w2,..."). */
typedef struct vws_asapgen {
    int64_t span_s;
    int64_t interval_min, interval_max;
    int64_t nodes_min, nodes_max;
    int64_t duration_min, duration_max;
    const char *images;
    int64_t image_mb;
    int64_t mem_mb, cpu_pct;
    uint64_t seed;
} vws_asapgen;

void vws_asapgen_defaults(vws_asapgen *g);
int vws_trace_generate_asap(vws_trace *t, const vws_asapgen *g);

#endif /* VWS_TRACE_H */
