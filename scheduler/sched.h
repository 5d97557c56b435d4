/*
 * sched.h — the overhead-aware workspace scheduler (seed 000).
 *
 * The scheduler admits leases onto a site (site.h), books their VM slots in
 * a slot table (slottable.h) and schedules their preparation — image
 * transfers over the link into the hosts' template caches (cache.h) and
 * local copies — as bookings of their own, before the lease's time, by one
 * of four staging strategies:
 *
 *   job-style   transfers start when the lease starts (the paper's
 *               baseline: overhead eaten from the client's time);
 *   jit         transfers start just early enough, estimated as if the
 *               link were idle;
 *   aggressive  transfers start as soon as the lease is accepted;
 *   hybrid      transfers booked on the link one at a time in earliest
 *               deadline first order, in the link's idle time; admission
 *               refuses a lease whose transfers cannot all meet their
 *               deadlines.
 *
 * AR leases are admitted or refused at once (with a reason); ASAP leases
 * wait in a FIFO queue and start with EASY backfilling; immediate leases
 * start now or are refused.  Placement favours hosts whose cache holds (or
 * is receiving) the template; a template needed by several instances on a
 * host is transferred once; a hit costs the site's local copy time.
 *
 * Everything happens on a clock (clock.h): simulated or real.  With
 * simulate_network, transfers run through the fair-sharing link model
 * (network.h); otherwise a transfer takes its estimated time.
 *
 * Ownership: the scheduler owns its leases; pointers it returns stay valid
 * until vws_sched_free().  It borrows the clock, which must outlive it.
 */
#ifndef VWS_SCHED_H
#define VWS_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "clock.h"
#include "lease.h"
#include "site.h"
#include "slottable.h"

typedef struct vws_sched vws_sched;

typedef struct vws_sched_stats {
    uint64_t submitted, accepted, rejected, completed, cut;
    uint64_t transfers;
    double mb_transferred;     /* over the link */
    double mb_deployed;        /* image instances made ready × size */
    uint64_t hits, misses, half_misses;
    uint64_t instances;        /* image instances made ready */
    vws_time deploy_total;     /* sum of their deploy times */
    vws_time vm_time;          /* node-ms received by clients */
    vws_time wait_total;       /* ASAP/immediate: submit to start */
    uint64_t waited;
    vws_time first_submit, last_end;
} vws_sched_stats;

typedef struct vws_sched_hooks {
    /* A lease finished or was rejected. */
    void (*lease_done)(void *ctx, const vws_lease *l);
    /* An image instance became ready (stats already updated). */
    void (*deployed)(void *ctx, vws_time now, const vws_sched_stats *st);
    /* The driver of real transfers (the Factory asking a Manager to stage
     * an image): called when transfer XFER_ID of MB to HOST is due to
     * start.  When set, the scheduler does not time transfers itself; the
     * caller reports the end with vws_sched_transfer_done().  IMAGE is
     * valid until then. */
    void (*start_transfer)(void *ctx, uint64_t xfer_id, size_t host,
                           const char *image, double mb);
    /* A lease starts running now (its state just became RUNNING): an AR
     * at its start, an AR_WINDOW when its event came (or its window
     * closed), an ASAP or IMMEDIATE lease once it left the queue — each
     * as soon as its images are in place, if that is later.  Called once
     * per lease, never for one that ends without running. */
    void (*lease_started)(void *ctx, const vws_lease *l);
    void *ctx;
} vws_sched_hooks;

/* Names of the staging strategies, NULL-terminated. */
extern const char *const vws_staging_names[];

/* A scheduler for SITE (copied) on CLOCK with staging STRATEGY.  NULL
 * with an error for an unknown strategy or an invalid site. */
vws_sched *vws_sched_new(const vws_site *site, vws_clock *clock,
                         const char *strategy, int simulate_network);
void vws_sched_free(vws_sched *s);

void vws_sched_set_hooks(vws_sched *s, const vws_sched_hooks *h);

/* Submit R now (at the clock's time).  Returns the lease — accepted,
 * queued or rejected (state REJECTED, lease->reason says why) — or NULL
 * with an error if R itself is invalid. */
vws_lease *vws_sched_submit(vws_sched *s, const vws_lease_request *r);

/* The event an AR_WINDOW lease waits for has arrived.  0, or -1 if the
 * lease is unknown or not waiting (VWS_ERR_STATE). */
int vws_sched_signal(vws_sched *s, uint64_t lease_id);

/* A transfer started through the start_transfer hook has ended: OK
 * nonzero if the image arrived, zero if it failed (it is then started
 * again at once).  0, or -1 (VWS_ERR_NOT_FOUND / VWS_ERR_STATE) for an
 * unknown transfer or one not running. */
int vws_sched_transfer_done(vws_sched *s, uint64_t xfer_id, int ok);

/* Terminate lease LEASE_ID now: a queued lease leaves the queue, an
 * accepted or running one gives back its VM slots and preparation
 * bookings at once (transfers not yet started that served only it are
 * dropped; running ones finish into the cache).  It ends DONE and the
 * lease_done hook is called.  0, or -1 (VWS_ERR_NOT_FOUND, VWS_ERR_STATE
 * for a lease already done or rejected). */
int vws_sched_cancel(vws_sched *s, uint64_t lease_id);

/* Let placement use HOST (AVAILABLE nonzero) or not (a drained, removed
 * or failed host): leases already placed there keep their bookings; no
 * new lease is placed there from now on.  Making hosts unavailable
 * rejects queued ASAP leases larger than the available hosts together
 * (lease_done hook, reason given).  0, or -1 (VWS_ERR_INVALID_ARG). */
int vws_sched_set_host_available(vws_sched *s, size_t host, int available);
int vws_sched_host_available(const vws_sched *s, size_t host);

/* Re-admit an AR or AR_WINDOW lease accepted before (a Factory restart)
 * with its nodes on exactly HOSTS[0..r->nodes-1], booked over
 * [r->start, r->end) (AR_WINDOW: [start, end + duration)).  A lease whose
 * start is past is taken as running since its start, its VMs in place
 * (no preparation; lease_started is not called); one whose end is past is
 * refused.  Preparation that can no longer be on time is admitted late
 * rather than refused (the lease was promised); host availability is not
 * checked.  Returns the lease (a new id), REJECTED with a reason if the
 * slots are no longer free, or NULL with an error for a bad request. */
vws_lease *vws_sched_restore(vws_sched *s, const vws_lease_request *r,
                             const size_t *hosts);

/* The lease with id LEASE_ID, or NULL. */
vws_lease *vws_sched_find(const vws_sched *s, uint64_t lease_id);

/* One image transfer a lease waits for, planned or under way. */
typedef struct vws_sched_staging {
    uint64_t xfer;
    size_t host;
    const char *image;     /* valid until vws_sched_free() */
    double mb;
    vws_time start, end;   /* planned (booked), or actual once known */
    int running, done;
} vws_sched_staging;

/* The transfers lease LEASE_ID waits or waited for, at most MAX into OUT;
 * returns how many there are (may exceed MAX). */
size_t vws_sched_lease_staging(const vws_sched *s, uint64_t lease_id,
                               vws_sched_staging *out, size_t max);

const vws_sched_stats *vws_sched_get_stats(const vws_sched *s);
size_t vws_sched_nleases(const vws_sched *s);
const vws_lease *vws_sched_lease(const vws_sched *s, size_t i);
size_t vws_sched_queue_length(const vws_sched *s);
vws_slottable *vws_sched_slottable(vws_sched *s);
vws_cache *vws_sched_cache(vws_sched *s, size_t host);
const vws_site *vws_sched_site(const vws_sched *s);
const char *vws_sched_strategy(const vws_sched *s);

/* Check every invariant: the slot table's, each lease's bookings against
 * its state, and that no prestaged lease has preparation booked inside its
 * own time.  0, or -1 with the violation reported. */
int vws_sched_check(const vws_sched *s);

/* Forget slot-table history before the clock's time (long runs). */
void vws_sched_compact(vws_sched *s);

#endif /* VWS_SCHED_H */
