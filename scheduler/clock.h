/*
 * clock.h — the time the scheduler runs on.
 *
 * Two kinds of clock share one interface: a simulated clock (a discrete-event
 * loop: vws_clock_run() jumps from one event to the next, used by vws-sim and
 * the tests) and a real clock (wall time; run() sleeps until each event is
 * due, used by the Factory to drive Managers).  Times are vws_time: integer
 * milliseconds, from 0 for a simulation, since the Unix epoch for the real
 * clock.  Events due at the same time run in the order they were added, so a
 * simulation is deterministic.
 *
 * Ownership: the clock owns its queued events; ARG is the caller's and is
 * never freed by the clock, except an ARG given to vws_clock_at_owned()
 * whose event never ran.
 */
#ifndef VWS_CLOCK_H
#define VWS_CLOCK_H

#include <stdint.h>

typedef int64_t vws_time;            /* milliseconds */
#define VWS_TIME_NEVER INT64_MAX
#define VWS_SEC(s) ((vws_time)(s) * 1000)

typedef enum {
    VWS_CLOCK_SIMULATED = 0,
    VWS_CLOCK_REAL,
} vws_clock_kind;

typedef struct vws_clock vws_clock;

/* Called when an event is due.  TAG is the value given to vws_clock_at();
 * callers use it as a generation number to ignore events made stale. */
typedef void (*vws_event_fn)(void *arg, uint64_t tag, vws_time now);

/* A simulated clock starting at START.  Never NULL. */
vws_clock *vws_clock_new_simulated(vws_time start);
/* A wall clock (CLOCK_REALTIME, milliseconds).  Never NULL. */
vws_clock *vws_clock_new_real(void);
/* Free the clock and its pending events; NULL is a no-op. */
void vws_clock_free(vws_clock *c);

vws_clock_kind vws_clock_get_kind(const vws_clock *c);
vws_time vws_clock_now(const vws_clock *c);

/* Queue FN(ARG, TAG) at WHEN.  A time in the past runs at the next step, at
 * the current time.  Returns 0, or -1 if FN is NULL. */
int vws_clock_at(vws_clock *c, vws_time when, vws_event_fn fn, void *arg,
                 uint64_t tag);
/* The same for an ARG from malloc() that FN frees when it runs: if the
 * event never runs, vws_clock_free() frees ARG (a real clock stopped with
 * events pending). */
int vws_clock_at_owned(vws_clock *c, vws_time when, vws_event_fn fn,
                       void *arg, uint64_t tag);

/* Time of the next pending event, or VWS_TIME_NEVER. */
vws_time vws_clock_next(const vws_clock *c);
/* Number of pending events, and of events run so far. */
uint64_t vws_clock_pending(const vws_clock *c);
uint64_t vws_clock_events_run(const vws_clock *c);

/* Run the next event (sleeping until it is due on a real clock).  Returns 1
 * if an event ran, 0 if none was pending. */
int vws_clock_step(vws_clock *c);

/* Run events until none is left, one is due after UNTIL, or
 * vws_clock_stop() was called from an event.  Returns the number run. */
uint64_t vws_clock_run(vws_clock *c, vws_time until);
void vws_clock_stop(vws_clock *c);

#endif /* VWS_CLOCK_H */
