/*
 * slottable.h — what every host and the image link have booked over time.
 *
 * Each resource (a host, or the link from the image repository) keeps an
 * availability profile: a sorted array of steps (t, used[]) meaning "from t
 * until the next step, USED is booked".  Booking [s, e) splits the steps at s
 * and e and adds the demand in between; releasing subtracts it.  Queries walk
 * only the steps inside the interval, found by binary search, so their cost
 * is O(log n + k) for k steps of the interval.  Steps before the current
 * time can be dropped (vws_slottable_forget) so the profile stays small.
 *
 * A host has four dimensions: VM slots, memory (MB), CPU (%) and I/O (the
 * preparation operations — image transfers in, local copies — running at
 * once; capacity 0 means unlimited).  The link has one: transfers at once.
 *
 * The table never over-commits: vws_slottable_book() refuses a demand that
 * does not fit anywhere in [s, e).  vws_slottable_check() verifies it.
 */
#ifndef VWS_SLOTTABLE_H
#define VWS_SLOTTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"

enum { VWS_DIM_VMS = 0, VWS_DIM_MEM, VWS_DIM_CPU, VWS_DIM_IO, VWS_NDIMS };

typedef struct vws_demand {
    int64_t v[VWS_NDIMS];
} vws_demand;

typedef struct vws_slottable vws_slottable;

/* A table of NHOSTS hosts, each with capacity CAP (a zero capacity in a
 * dimension means unlimited), and a link carrying LINK_CAP transfers at
 * once (0: unlimited).  Never NULL. */
vws_slottable *vws_slottable_new(size_t nhosts, const vws_demand *cap,
                                 int64_t link_cap);
void vws_slottable_free(vws_slottable *st);

size_t vws_slottable_nhosts(const vws_slottable *st);
const vws_demand *vws_slottable_capacity(const vws_slottable *st, size_t host);

/* HOST is a host index, VWS_LINK for the link (only dimension 0 used), or
 * for queries only VWS_SITE: the sum over all hosts, kept as bookings are
 * made.  Its free room bounds what the hosts together can offer, which
 * makes "can anything start now?" cost O(log n) instead of O(hosts). */
#define VWS_LINK ((size_t)-1)
#define VWS_SITE ((size_t)-2)

/* The most booked in each dimension at any instant of [s, e). */
void vws_slottable_peak(const vws_slottable *st, size_t host, vws_time s,
                        vws_time e, vws_demand *peak);
/* 1 if D fits on HOST over all of [s, e), else 0. */
int vws_slottable_fits(const vws_slottable *st, size_t host, vws_time s,
                       vws_time e, const vws_demand *d);
/* How many copies of D fit over all of [s, e) (capped at LIMIT). */
int64_t vws_slottable_count_fit(const vws_slottable *st, size_t host,
                                vws_time s, vws_time e, const vws_demand *d,
                                int64_t limit);
/* The earliest t >= FROM with D fitting over [t, t + DUR), or
 * VWS_TIME_NEVER if it never does (a demand above capacity). */
vws_time vws_slottable_earliest(const vws_slottable *st, size_t host,
                                vws_time from, vws_time dur,
                                const vws_demand *d);

/* The first step (a change of usage) after T on HOST, or VWS_TIME_NEVER. */
vws_time vws_slottable_next_change(const vws_slottable *st, size_t host,
                                   vws_time t);

/* Book D on HOST over [s, e).  0, or -1 (VWS_ERR_STATE) if it does not fit
 * and -1 (VWS_ERR_INVALID_ARG) for an empty or inverted interval. */
int vws_slottable_book(vws_slottable *st, size_t host, vws_time s,
                       vws_time e, const vws_demand *d);
/* Take back what vws_slottable_book() added.  0, or -1 (VWS_ERR_INTERNAL)
 * if that would make a usage negative (the table is then unchanged). */
int vws_slottable_release(vws_slottable *st, size_t host, vws_time s,
                          vws_time e, const vws_demand *d);

/* Drop the steps that end before T (nothing can be booked there any more). */
void vws_slottable_forget(vws_slottable *st, vws_time t);

/* Verify the invariants: steps sorted, no usage negative or above
 * capacity, usage zero after the last step.  0, or -1 with the first
 * violation reported (VWS_ERR_INTERNAL). */
int vws_slottable_check(const vws_slottable *st);

/* Total steps held (for benchmarks). */
size_t vws_slottable_steps(const vws_slottable *st);

#endif /* VWS_SLOTTABLE_H */
