/*
 * orch.h — the scheduler on the real clock, driving hosts: the Factory's
 * orchestrator.
 *
 * An orchestrator owns a scheduler (sched.h) on a wall clock and a thread
 * that runs the scheduler's events when they are due.  What the scheduler
 * decides becomes calls of the caller's operations (vws_orch_ops): stage
 * an image to a host before a lease (prestage, as the staging strategy
 * says: with jit, aggressive or hybrid the image is there at the start T,
 * not T + staging), start a lease's VMs when it starts (an AR at its
 * start, an AR_WINDOW when signalled, an ASAP lease when it has left the
 * queue — each as soon as its images are in place), stop them when it
 * ends.  Clients of the Factory submit, signal and cancel leases from any
 * thread.
 *
 * Threads: one mutex guards the clock and the scheduler.  The clock
 * thread sleeps on a condition variable until the next event is due (or
 * a call adds events), runs the due events under the lock and queues the
 * operations they call for.  VWS_ORCH_WORKERS worker threads run the
 * queued operations without the lock, so an operation may block (a SOAP
 * call to a Manager) and may call back into the orchestrator
 * (vws_orch_transfer_done from prestage).  Operations of one lease run
 * in order, one at a time (its start before its end); different leases'
 * and transfers' operations run in parallel.  A start is late only if
 * every worker is blocked in an operation.
 *
 * Times are vws_time: milliseconds since the Unix epoch.
 *
 * Ownership: the orchestrator copies the site and the ops; strings and
 * arrays passed to ops are valid during the call only.  Snapshots
 * (vws_orch_lease) are the caller's.
 */
#ifndef VWS_ORCH_H
#define VWS_ORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lease.h"
#include "site.h"

/* Most nodes of one lease (a snapshot holds them without allocating). */
#define VWS_ORCH_MAX_NODES 64
/* Longest image name kept in a snapshot, with its NUL. */
#define VWS_ORCH_IMAGE_MAX 256
/* Threads running operations at once. */
#define VWS_ORCH_WORKERS 4

struct vws_orch_ops {
    /* Called from the orchestrator's worker threads, without its lock
     * held; each may block.  prestage, start and end are required. */

    /* Image IMAGE is due to be staged to HOST for transfer XFER: call
     * vws_orch_transfer_done() when it arrived or failed (a failure is
     * retried at once with another prestage of the same XFER). */
    void (*prestage)(void *ctx, uint64_t xfer, size_t host,
                     const char *image);
    /* Lease LEASE starts now: NODES nodes, node i on HOSTS[i]; deploy
     * them (if not yet) and start them. */
    void (*start)(void *ctx, uint64_t lease, int nodes, const size_t *hosts);
    /* Lease LEASE ends now (its end time, cancelled, or cut): stop and
     * undeploy.  Called exactly once for each lease start was called
     * for, never for another (a lease that ends without having started,
     * e.g. cancelled before its start, gets neither). */
    void (*end)(void *ctx, uint64_t lease, int nodes, const size_t *hosts);
    /* Optional: lease LEASE was rejected after vws_orch_submit() had
     * answered (a queued ASAP lease that can no longer fit, as hosts
     * left).  Rejections at submission are in its answer, not here. */
    void (*rejected)(void *ctx, uint64_t lease, const char *reason);
    void *ctx;
};

/* One image transfer a lease waits (or waited) for: the preparation the
 * scheduler booked on the link and the host. */
struct vws_orch_staging {
    uint64_t xfer;
    size_t host;
    char image[VWS_ORCH_IMAGE_MAX];
    vws_time start, end;   /* planned; actual once started / arrived */
    bool running, done;
};

/* A lease as the scheduler sees it now. */
struct vws_orch_lease {
    uint64_t id;
    vws_lease_type type;
    vws_lease_state state;
    char reason[256];      /* REJECTED: why (with the times asked for) */
    /* When its VMs run: booked, or actual once known (AR_WINDOW: the
     * whole window until the event comes; ASAP: -1 while queued). */
    vws_time start, end;
    bool started;          /* start was called (or restored running) */
    bool cancelled;
    int nodes;
    size_t hosts[VWS_ORCH_MAX_NODES];  /* placement: node i on hosts[i] */
    struct vws_orch_staging staging[VWS_ORCH_MAX_NODES];
    size_t n_staging;
};

typedef struct vws_orch vws_orch;

/* An orchestrator for SITE (copied) with staging STRATEGY (sched.h) and
 * OPS (copied); starts its threads.  NULL with an error for a bad site,
 * strategy or ops, or if a thread cannot start. */
vws_orch *vws_orch_new(const vws_site *site, const char *strategy,
                       const struct vws_orch_ops *ops);
/* Stop the threads (waiting for operations under way to return) and
 * free everything; operations not yet started are dropped.  Never from
 * an operation.  NULL is a no-op. */
void vws_orch_free(vws_orch *o);

/* Admit R now.  0 with *OUT filled — accepted, queued, or REJECTED with
 * OUT->reason (a refusal is an answer, not an error) — or -1 with an
 * error for a bad request (VWS_ERR_INVALID_ARG) or one of more than
 * VWS_ORCH_MAX_NODES nodes (VWS_ERR_LIMIT).  OUT may be NULL. */
int vws_orch_submit(vws_orch *o, const vws_lease_request *r,
                    struct vws_orch_lease *out);

/* Snapshot of lease LEASE.  0, or -1 (VWS_ERR_NOT_FOUND). */
int vws_orch_get(vws_orch *o, uint64_t lease, struct vws_orch_lease *out);

/* The event an AR_WINDOW lease waits for came: it starts now (once its
 * images are in place).  0, or -1 (VWS_ERR_NOT_FOUND, VWS_ERR_STATE). */
int vws_orch_signal(vws_orch *o, uint64_t lease);

/* Terminate LEASE early: its resources are free at once; end is called
 * if it was started.  0, or -1 (VWS_ERR_NOT_FOUND, VWS_ERR_STATE if it
 * is already over or was rejected). */
int vws_orch_cancel(vws_orch *o, uint64_t lease);

/* Transfer XFER (from prestage) arrived (OK) or failed (it is tried
 * again: prestage is called again).  0, or -1 (VWS_ERR_NOT_FOUND,
 * VWS_ERR_STATE if it is not under way). */
int vws_orch_transfer_done(vws_orch *o, uint64_t xfer, int ok);

/* Drain/remove/down (AVAILABLE false) or back in service: no new
 * placements on HOST from now on; leases there keep running.  Queued
 * ASAP leases too big for the hosts left are rejected (ops->rejected).
 * 0, or -1 (VWS_ERR_INVALID_ARG for an unknown host). */
int vws_orch_set_host_available(vws_orch *o, size_t host, bool available);

/* Recovery after a Factory restart: re-admit a lease accepted before —
 * an AR over [R->start, R->end), or an AR_WINDOW not yet signalled — on
 * exactly HOSTS[0..R->nodes-1].  An AR whose start is past is taken as
 * running (its VMs are there: start is not called, end will be); a
 * future one is prepared again (prestage), late rather than refused if
 * its images can no longer be on time.  0 with *OUT (a NEW lease id; the
 * caller maps its records to it), REJECTED with a reason if the hosts no
 * longer have room or its time is over; -1 with an error for a bad
 * request, host index or type.  Host availability is not checked. */
int vws_orch_restore(vws_orch *o, const vws_lease_request *r,
                     const size_t *hosts, struct vws_orch_lease *out);

#endif /* VWS_ORCH_H */
