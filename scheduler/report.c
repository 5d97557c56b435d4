/*
 * report.c — per-lease records, the deployment series and the summary of
 * a simulation (see report.h).
 */
#define VWS_MODULE "sim"
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "internal.h"

void
vws_report_init(vws_report *r)
{
    memset(r, 0, sizeof(*r));
}

void
vws_report_release(vws_report *r)
{
    free(r->pt);
    memset(r, 0, sizeof(*r));
}

static void
on_deployed(void *ctx, vws_time now, const vws_sched_stats *st)
{
    vws_report *r = ctx;

    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 256;
        r->pt = vws_reallocarray(r->pt, r->cap, sizeof(*r->pt));
    }
    r->pt[r->n++] = (vws_report_point){ now, st->mb_deployed,
                                        st->mb_transferred };
}

void
vws_report_attach(vws_report *r, vws_sched *s)
{
    vws_sched_hooks h = { .deployed = on_deployed, .ctx = r };

    vws_sched_set_hooks(s, &h);
}

double
vws_report_deployed_at(const vws_report *r, vws_time t, int transferred)
{
    double v = 0;
    size_t i;

    for (i = 0; i < r->n && r->pt[i].t <= t; i++)
        v = transferred ? r->pt[i].mb_transferred : r->pt[i].mb_deployed;
    return v;
}

void
vws_report_summarize(vws_sched *s, vws_summary *m)
{
    const vws_sched_stats *st = vws_sched_get_stats(s);
    const vws_site *site = vws_sched_site(s);
    double sat_sum = 0, all_sum = 0;
    size_t i, n = vws_sched_nleases(s);
    vws_time first = -1, last = 0;

    memset(m, 0, sizeof(*m));
    m->strategy = vws_sched_strategy(s);
    m->sat_min = 1.0;
    for (i = 0; i < n; i++) {
        const vws_lease *l = vws_sched_lease(s, i);
        double sat = vws_lease_satisfaction(l);

        m->leases++;
        all_sum += sat;
        if (first < 0 || l->submit < first)
            first = l->submit;
        if (l->actual_end > last)
            last = l->actual_end;
        if (l->state == VWS_LEASE_REJECTED) {
            m->rejected++;
            continue;
        }
        m->accepted++;
        if (l->state == VWS_LEASE_DONE)
            m->done++;
        if (l->cut)
            m->cut++;
        if (l->type == VWS_LEASE_AR || l->type == VWS_LEASE_AR_WINDOW) {
            m->ar++;
            sat_sum += sat;
            if (sat >= 1.0 - 1e-9)
                m->ar_full++;
            if (sat < m->sat_min)
                m->sat_min = sat;
        }
    }
    m->sat_mean = m->ar ? sat_sum / (double)m->ar : 0;
    if (!m->ar)
        m->sat_min = 0;
    m->sat_all_mean = n ? all_sum / (double)n : 0;
    m->mb_transferred = st->mb_transferred;
    m->mb_deployed = st->mb_deployed;
    m->deploy_avg_s = st->instances ?
        (double)st->deploy_total / (double)st->instances / 1000.0 : 0;
    m->hits = st->hits;
    m->misses = st->misses;
    m->half_misses = st->half_misses;
    m->transfers = st->transfers;
    m->makespan = first >= 0 && last > first ? last - first : 0;
    if (m->makespan > 0)
        m->utilisation = (double)st->vm_time /
            ((double)m->makespan * (double)site->hosts *
             (double)site->vms_per_host);
    m->wait_avg_s = st->waited ?
        (double)st->wait_total / (double)st->waited / 1000.0 : 0;
}

void
vws_report_print_summary(const vws_summary *m, FILE *f)
{
    fprintf(f, "strategy            %s\n", m->strategy);
    fprintf(f, "leases              %zu (accepted %zu, rejected %zu, done %zu, cut %zu)\n",
            m->leases, m->accepted, m->rejected, m->done, m->cut);
    if (m->ar)
        fprintf(f, "satisfaction (AR)   mean %.4f  min %.4f  at 100%%: %zu of %zu\n",
                m->sat_mean, m->sat_min, m->ar_full, m->ar);
    fprintf(f, "satisfaction (all)  mean %.4f\n", m->sat_all_mean);
    fprintf(f, "transfers           %" PRIu64 " (%.1f MB over the link)\n",
            m->transfers, m->mb_transferred);
    fprintf(f, "MB deployed         %.1f\n", m->mb_deployed);
    fprintf(f, "avg deploy time     %.1f s per image\n", m->deploy_avg_s);
    fprintf(f, "cache               %" PRIu64 " hits, %" PRIu64 " misses, %"
            PRIu64 " half-misses\n", m->hits, m->misses, m->half_misses);
    fprintf(f, "utilisation         %.4f over %.1f s\n", m->utilisation,
            (double)m->makespan / 1000.0);
    fprintf(f, "avg wait (ASAP)     %.1f s\n", m->wait_avg_s);
}

static double
secs(vws_time t)
{
    return t < 0 ? -1.0 : (double)t / 1000.0;
}

int
vws_report_write_csv(vws_sched *s, FILE *f)
{
    size_t i, n = vws_sched_nleases(s);

    fprintf(f, "id,type,state,submit,nodes,image,req_start,req_end,duration,"
            "granted,ready,start,end,received,requested,satisfaction,wait,"
            "deploy_avg,transfers,hits,misses,half_misses,cut,reason\n");
    for (i = 0; i < n; i++) {
        const vws_lease *l = vws_sched_lease(s, i);
        const char *p;

        fprintf(f, "%" PRIu64 ",%s,%s,%.3f,%d,%s,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,"
                "%.3f,%.3f,%.3f,%.6f,%.3f,%.3f,%d,%d,%d,%d,%d,\"",
                l->id, vws_lease_type_name(l->type),
                vws_lease_state_name(l->state), secs(l->submit), l->nodes,
                l->image, secs(l->start), secs(l->end), secs(l->duration),
                secs(l->granted), secs(l->ready), secs(l->actual_start),
                secs(l->actual_end), secs(vws_lease_received(l)),
                secs(vws_lease_requested(l)), vws_lease_satisfaction(l),
                l->actual_start >= 0 ? secs(l->actual_start - l->submit) : -1.0,
                l->deployed ? (double)l->deploy_total / l->deployed / 1000.0 : 0,
                l->transfers, l->hits, l->misses, l->half_misses, l->cut);
        for (p = l->reason; *p; p++) {
            if (*p == '"')
                fputc('"', f);
            fputc(*p, f);
        }
        fputs("\"\n", f);
    }
    return ferror(f) ? -1 : 0;
}

static void
json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

int
vws_report_write_json(vws_sched *s, const vws_summary *m, FILE *f)
{
    size_t i, n = vws_sched_nleases(s);

    fprintf(f, "{\n  \"strategy\": ");
    json_str(f, m->strategy);
    fprintf(f, ",\n  \"summary\": {\"leases\": %zu, \"accepted\": %zu, "
            "\"rejected\": %zu, \"cut\": %zu, \"satisfaction_ar_mean\": %.6f, "
            "\"satisfaction_ar_min\": %.6f, \"ar_at_100\": %zu, "
            "\"satisfaction_all_mean\": %.6f, \"transfers\": %" PRIu64 ", "
            "\"mb_transferred\": %.3f, \"mb_deployed\": %.3f, "
            "\"deploy_avg_s\": %.3f, \"hits\": %" PRIu64 ", \"misses\": %"
            PRIu64 ", \"half_misses\": %" PRIu64 ", \"utilisation\": %.6f, "
            "\"wait_avg_s\": %.3f},\n  \"leases\": [",
            m->leases, m->accepted, m->rejected, m->cut, m->sat_mean,
            m->sat_min, m->ar_full, m->sat_all_mean, m->transfers,
            m->mb_transferred, m->mb_deployed, m->deploy_avg_s, m->hits,
            m->misses, m->half_misses, m->utilisation, m->wait_avg_s);
    for (i = 0; i < n; i++) {
        const vws_lease *l = vws_sched_lease(s, i);

        fprintf(f, "%s\n    {\"id\": %" PRIu64 ", \"type\": \"%s\", "
                "\"state\": \"%s\", \"submit\": %.3f, \"nodes\": %d, "
                "\"image\": ", i ? "," : "", l->id,
                vws_lease_type_name(l->type), vws_lease_state_name(l->state),
                secs(l->submit), l->nodes);
        json_str(f, l->image);
        fprintf(f, ", \"start\": %.3f, \"end\": %.3f, \"received\": %.3f, "
                "\"requested\": %.3f, \"satisfaction\": %.6f, "
                "\"transfers\": %d, \"hits\": %d, \"misses\": %d, "
                "\"half_misses\": %d, \"reason\": ",
                secs(l->actual_start), secs(l->actual_end),
                secs(vws_lease_received(l)), secs(vws_lease_requested(l)),
                vws_lease_satisfaction(l), l->transfers, l->hits, l->misses,
                l->half_misses);
        json_str(f, l->reason);
        fputc('}', f);
    }
    fprintf(f, "\n  ]\n}\n");
    return ferror(f) ? -1 : 0;
}

int
vws_report_write_series(const vws_report *r, FILE *f)
{
    size_t i;

    fprintf(f, "time,mb_deployed,mb_transferred\n");
    for (i = 0; i < r->n; i++)
        fprintf(f, "%.3f,%.1f,%.1f\n", secs(r->pt[i].t), r->pt[i].mb_deployed,
                r->pt[i].mb_transferred);
    return ferror(f) ? -1 : 0;
}
