/*
 * sched-priv.h — the scheduler's insides, shared by sched.c and the
 * policies in policy/ (staging strategies, EDF link plan, placement).
 * Not installed, not for other callers.  Ownership: the scheduler owns
 * every vws_xfer (kept until vws_sched_free(), as stale clock events may
 * still point at them).
 */
#ifndef VWS_SCHED_PRIV_H
#define VWS_SCHED_PRIV_H

#include "network.h"
#include "sched.h"

typedef enum { XFER_PLANNED = 0, XFER_RUNNING, XFER_DONE } xfer_state;

struct xfer_waiter {
    vws_lease *lease;
    int count;             /* instances waiting */
    vws_time since;        /* when this lease began waiting */
};

/* One image transfer over the link to one host. */
struct vws_xfer {
    vws_sched *sched;
    uint64_t id;
    size_t host;
    char *image;
    double mb;
    int to_cache;          /* into the host cache (then local copies) */
    xfer_state state;
    int flexible;          /* hybrid: may still be moved by EDF */
    vws_time deadline;     /* latest end that serves every waiter */
    vws_time planned_start, planned_end;
    int booked;            /* holds link + host I/O bookings */
    uint64_t gen;          /* generation of its start event */
    vws_time start, end;
    struct xfer_waiter *w;
    size_t nw;
};

/* What admission decided for one host of a lease, before committing. */
enum unit_kind { UNIT_HIT, UNIT_ATTACH, UNIT_MISS, UNIT_DIRECT };

struct prep_unit {
    size_t host;
    int count;             /* instances on this host */
    enum unit_kind kind;
    struct vws_xfer *attach;   /* UNIT_ATTACH */
};

/* A transfer admission wants to add. */
struct new_xfer {
    size_t unit;
    size_t host;
    double mb;
    int count;             /* instances it serves */
    int to_cache;
    vws_time deadline;
    vws_time start;        /* hybrid: planned by EDF */
    int booked;
};

/* A staging strategy: a row of small handlers (a table, like a driver). */
typedef struct vws_staging {
    const char *name;
    int inside_lease;      /* transfers start at the lease start */
    int edf;               /* link booked one at a time, EDF */
    /* When a transfer of a lease needing its images by NEED_BY starts;
     * TOTAL is the lease's whole transfer time on an idle link. */
    vws_time (*start_time)(vws_time now, vws_time need_by, vws_time total);
    /* Can the preparation be honoured?  0, or -1 with L->reason set. */
    int (*admit)(vws_sched *s, vws_lease *l, vws_time now, vws_time need_by,
                 vws_time total);
} vws_staging;

const vws_staging *vws_staging_find(const char *name);

struct vws_sched {
    vws_site site;
    vws_clock *clock;
    const vws_staging *staging;
    vws_slottable *st;
    vws_cache **cache;
    vws_network *net;
    vws_sched_hooks hooks;
    vws_sched_stats stats;

    vws_lease **leases;
    size_t nleases, capleases;
    vws_lease **queue;     /* ASAP FIFO */
    size_t nqueue, capqueue;
    struct vws_xfer **xfers;
    size_t nxfers, capxfers;
    uint64_t next_xfer_id;
    struct vws_xfer **flex;    /* hybrid: transfers EDF may still move */
    size_t nflex, capflex;
    int scheduling;        /* re-entrancy guard for the ASAP pass */
    int dirty;             /* room was given back since the last pass */
    size_t place_cursor;   /* where placement looks for uncached hosts */
    unsigned char *down;   /* per host: no new placements (NULL: none yet) */
    size_t ndown;
};

/* Placement (policy/placement.c): choose a host for each of L's nodes
 * with room over [s, e), favouring hosts that cache the image.  0, or -1
 * with L->reason set (nothing reported). */
int vws_place(vws_sched *s, vws_lease *l, vws_time bs, vws_time be);

/* The per-node demand of L on a host. */
void vws_lease_demand(const vws_sched *s, const vws_lease *l, vws_demand *d);

/* Hybrid: re-plan every flexible transfer plus the N new ones in EDF
 * order on the link from NOW.  On success the flexible transfers are
 * re-booked (and re-armed if moved), the new ones booked with their start
 * in NX[i].start: 0.  On failure nothing changed and *LATE_BY says by how
 * much the first transfer to miss would have missed: -1. */
int vws_edf_plan(vws_sched *s, vws_time now, struct new_xfer *nx, size_t n,
                 vws_time *late_by);

/* Earliest t >= FROM when DUR fits on the link and on HOST's I/O, or
 * VWS_TIME_NEVER. */
vws_time vws_link_fit(vws_sched *s, size_t host, vws_time from, vws_time dur);
/* The demand of one transfer on the link (LINK) or on a host's I/O. */
void vws_xfer_demand(vws_demand *d, int link);

void vws_xfer_book(vws_sched *s, struct vws_xfer *x);
void vws_xfer_unbook(vws_sched *s, struct vws_xfer *x);
void vws_xfer_arm(vws_sched *s, struct vws_xfer *x);

#endif /* VWS_SCHED_PRIV_H */
