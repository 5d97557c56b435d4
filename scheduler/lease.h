/*
 * lease.h — a request for nodes × (memory, CPU) with an image template, and
 * what became of it.
 *
 * Four kinds (seed 000 §4.1, DESIGN.md "Deployment request"):
 *   AR         exact start and end;
 *   AR_WINDOW  resources held over [start, window_end + duration); the lease
 *              starts when an event arrives inside [start, window_end] (or
 *              at window_end if none does) and runs for duration;
 *   ASAP       best effort: queued, started as soon as nodes are free;
 *   IMMEDIATE  now, or refused.
 * The preparation overhead (image transfers, local copies) is scheduled
 * before the lease's own time; it is never deducted from it, except by the
 * job-style baseline strategy, which stages inside the lease on purpose.
 *
 * Ownership: a vws_lease belongs to the scheduler that admitted it; its
 * image string is its own copy.
 */
#ifndef VWS_LEASE_H
#define VWS_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"

typedef enum {
    VWS_LEASE_AR = 0,
    VWS_LEASE_AR_WINDOW,
    VWS_LEASE_ASAP,
    VWS_LEASE_IMMEDIATE,
} vws_lease_type;

typedef enum {
    VWS_LEASE_NEW = 0,
    VWS_LEASE_QUEUED,     /* ASAP, waiting for nodes */
    VWS_LEASE_ACCEPTED,   /* resources booked, preparing */
    VWS_LEASE_RUNNING,
    VWS_LEASE_DONE,
    VWS_LEASE_REJECTED,
} vws_lease_state;

typedef struct vws_lease_request {
    vws_lease_type type;
    vws_time start;        /* AR: start; AR_WINDOW: window opens */
    vws_time end;          /* AR: end; AR_WINDOW: window closes */
    vws_time duration;     /* ASAP, IMMEDIATE, AR_WINDOW (AR: end - start) */
    int nodes;
    int64_t mem_mb;        /* per node */
    int64_t cpu_pct;       /* per node */
    const char *image;     /* template name (copied) */
    int64_t image_mb;
} vws_lease_request;

typedef struct vws_lease {
    uint64_t id;
    vws_lease_type type;
    vws_lease_state state;
    vws_time submit;
    vws_time start, end;   /* requested (AR kinds); -1 for ASAP */
    vws_time duration;
    int nodes;
    int64_t mem_mb, cpu_pct;
    char *image;
    int64_t image_mb;

    size_t *host;          /* host of each node, once placed */
    vws_time booked_start, booked_end;  /* VM slots booked on the hosts */
    vws_time granted;      /* when it got its nodes (ASAP: left the queue) */
    vws_time ready;        /* all images in place, or -1 */
    vws_time event;        /* AR_WINDOW: when the event came, or -1 */
    vws_time actual_start, actual_end;  /* usable time, or -1 */
    int pending;           /* image instances still being prepared */
    int cut;               /* an ASAP lease stopped at its booking's end */
    int cancelled;         /* terminated early (vws_sched_cancel) */
    int restored;          /* re-admitted on given hosts (vws_sched_restore);
                              its preparation may be late */

    int transfers, hits, misses, half_misses;
    int deployed;          /* instances made ready */
    vws_time deploy_total; /* sum over instances of their deploy time */
    char reason[256];      /* why it was rejected */

    /* scheduler-private: overhead bookings and cache pins */
    struct vws_booking *bookings;
    size_t nbookings;
    size_t *pins;          /* one host index per cache pin held */
    size_t npins;
    uint64_t end_gen;      /* generation of its end event */
} vws_lease;

/* One booking made for a lease: host (or VWS_LINK) over [s, e). */
struct vws_booking {
    size_t host;
    vws_time s, e;
    int64_t v[4];
    int overhead;          /* preparation, not the lease's own slots */
};

const char *vws_lease_type_name(vws_lease_type t);
const char *vws_lease_state_name(vws_lease_state s);

/* Check a request: 0, or -1 (VWS_ERR_INVALID_ARG) saying what is wrong. */
int vws_lease_request_check(const vws_lease_request *r);

/* The time the client asked for, in ms (AR: end - start). */
vws_time vws_lease_requested(const vws_lease *l);
/* The time it got: actual_end - actual_start, or 0. */
vws_time vws_lease_received(const vws_lease *l);
/* received / requested in [0, 1]; 0 for a rejected lease. */
double vws_lease_satisfaction(const vws_lease *l);

/* A new lease from R (state NEW) and its release. */
vws_lease *vws_lease_new(uint64_t id, const vws_lease_request *r,
                         vws_time submit);
void vws_lease_free(vws_lease *l);

#endif /* VWS_LEASE_H */
