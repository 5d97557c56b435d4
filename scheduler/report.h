/*
 * report.h — what a simulation run produced: per-lease records (CSV,
 * JSON), the "MB deployed over time" series and the summary of seed 000's
 * measures (client satisfaction, deploy time, cache hits/misses/half-misses,
 * utilisation, waiting time, rejections).
 *
 * A vws_report collects through the scheduler's hooks; it borrows nothing
 * after vws_report_attach() but the scheduler it reads at the end.
 */
#ifndef VWS_REPORT_H
#define VWS_REPORT_H

#include <stdio.h>

#include "sched.h"

typedef struct vws_report_point {
    vws_time t;
    double mb_deployed, mb_transferred;
} vws_report_point;

typedef struct vws_report {
    vws_report_point *pt;
    size_t n, cap;
} vws_report;

typedef struct vws_summary {
    const char *strategy;
    size_t leases, accepted, rejected, done, cut;
    size_t ar, ar_full;              /* AR leases, and those at 100 % */
    double sat_mean, sat_min;        /* AR leases accepted */
    double sat_all_mean;             /* every lease, rejected as 0 */
    double mb_transferred, mb_deployed;
    double deploy_avg_s;
    uint64_t hits, misses, half_misses, transfers;
    double utilisation;              /* node time received / capacity */
    double wait_avg_s;               /* ASAP: submit to running */
    vws_time makespan;
} vws_summary;

void vws_report_init(vws_report *r);
void vws_report_release(vws_report *r);
/* Install hooks on S that record the series into R. */
void vws_report_attach(vws_report *r, vws_sched *s);

void vws_report_summarize(vws_sched *s, vws_summary *out);
void vws_report_print_summary(const vws_summary *m, FILE *f);

/* MB deployed (or transferred) at time T, by the series. */
double vws_report_deployed_at(const vws_report *r, vws_time t, int transferred);

int vws_report_write_csv(vws_sched *s, FILE *f);
int vws_report_write_json(vws_sched *s, const vws_summary *m, FILE *f);
int vws_report_write_series(const vws_report *r, FILE *f);

#endif /* VWS_REPORT_H */
