/*
 * lease.c — lease requests: validation, naming, and the client's view of
 * what it received (satisfaction, seed 000 §5.1).
 */
#define VWS_MODULE "sched"
#include <config.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "internal.h"

const char *
vws_lease_type_name(vws_lease_type t)
{
    switch (t) {
    case VWS_LEASE_AR: return "ar";
    case VWS_LEASE_AR_WINDOW: return "ar-window";
    case VWS_LEASE_ASAP: return "asap";
    case VWS_LEASE_IMMEDIATE: return "immediate";
    }
    return "unknown";
}

const char *
vws_lease_state_name(vws_lease_state s)
{
    switch (s) {
    case VWS_LEASE_NEW: return "new";
    case VWS_LEASE_QUEUED: return "queued";
    case VWS_LEASE_ACCEPTED: return "accepted";
    case VWS_LEASE_RUNNING: return "running";
    case VWS_LEASE_DONE: return "done";
    case VWS_LEASE_REJECTED: return "rejected";
    }
    return "unknown";
}

int
vws_lease_request_check(const vws_lease_request *r)
{
    if (!r->image || !*r->image) {
        vws_report_error(VWS_ERR_INVALID_ARG, "lease without an image template");
        return -1;
    }
    if (r->nodes <= 0 || r->mem_mb < 0 || r->cpu_pct < 0 || r->image_mb < 0) {
        vws_report_error(VWS_ERR_INVALID_ARG,
                         "lease for '%s': nodes, memory, CPU and image size "
                         "must not be negative (nodes at least 1)", r->image);
        return -1;
    }
    switch (r->type) {
    case VWS_LEASE_AR:
        if (r->start < 0 || r->end <= r->start) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "advance reservation needs 0 <= start < end "
                             "(start %" PRId64 " ms, end %" PRId64 " ms)",
                             r->start, r->end);
            return -1;
        }
        break;
    case VWS_LEASE_AR_WINDOW:
        if (r->start < 0 || r->end < r->start || r->duration <= 0) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "event window needs 0 <= opens <= closes and a "
                             "positive duration");
            return -1;
        }
        break;
    case VWS_LEASE_ASAP:
    case VWS_LEASE_IMMEDIATE:
        if (r->duration <= 0) {
            vws_report_error(VWS_ERR_INVALID_ARG,
                             "%s lease needs a positive duration",
                             vws_lease_type_name(r->type));
            return -1;
        }
        break;
    default:
        vws_report_error(VWS_ERR_INVALID_ARG, "unknown lease type %d",
                         (int)r->type);
        return -1;
    }
    return 0;
}

vws_lease *
vws_lease_new(uint64_t id, const vws_lease_request *r, vws_time submit)
{
    vws_lease *l = vws_calloc(1, sizeof(*l));

    l->id = id;
    l->type = r->type;
    l->state = VWS_LEASE_NEW;
    l->submit = submit;
    l->nodes = r->nodes;
    l->mem_mb = r->mem_mb;
    l->cpu_pct = r->cpu_pct;
    l->image = vws_strdup(r->image);
    l->image_mb = r->image_mb;
    l->start = l->end = -1;
    switch (r->type) {
    case VWS_LEASE_AR:
        l->start = r->start;
        l->end = r->end;
        l->duration = r->end - r->start;
        break;
    case VWS_LEASE_AR_WINDOW:
        l->start = r->start;
        l->end = r->end;
        l->duration = r->duration;
        break;
    default:
        l->duration = r->duration;
        break;
    }
    l->host = vws_calloc((size_t)r->nodes, sizeof(*l->host));
    l->booked_start = l->booked_end = -1;
    l->granted = l->ready = l->event = -1;
    l->actual_start = l->actual_end = -1;
    return l;
}

void
vws_lease_free(vws_lease *l)
{
    if (!l)
        return;
    free(l->image);
    free(l->host);
    free(l->bookings);
    free(l->pins);
    free(l);
}

vws_time
vws_lease_requested(const vws_lease *l)
{
    return l->type == VWS_LEASE_AR ? l->end - l->start : l->duration;
}

vws_time
vws_lease_received(const vws_lease *l)
{
    if (l->actual_start < 0 || l->actual_end <= l->actual_start)
        return 0;
    return l->actual_end - l->actual_start;
}

double
vws_lease_satisfaction(const vws_lease *l)
{
    vws_time req = vws_lease_requested(l);
    double s;

    if (l->state == VWS_LEASE_REJECTED || req <= 0)
        return 0.0;
    s = (double)vws_lease_received(l) / (double)req;
    return s > 1.0 ? 1.0 : s;
}
