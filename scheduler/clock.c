/*
 * clock.c — simulated and real clocks over one binary heap of events.
 *
 * The heap is ordered by (time, sequence number); the sequence makes events
 * due at the same instant run first-in first-out, which keeps simulations
 * reproducible.  The real clock sleeps with clock_nanosleep() until the head
 * event is due; a simulated clock just sets "now" to it.
 */
#define VWS_MODULE "clock"
#include <config.h>

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "internal.h"

struct event {
    vws_time when;
    uint64_t seq;
    vws_event_fn fn;
    void *arg;
    uint64_t tag;
    int owned;                /* free ARG if dropped */
};

struct vws_clock {
    vws_clock_kind kind;
    vws_time now;             /* simulated time */
    struct event *heap;
    size_t n, cap;
    uint64_t seq;
    uint64_t ran;
    int stop;
};

static vws_time
real_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (vws_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

vws_clock *
vws_clock_new_simulated(vws_time start)
{
    vws_clock *c = vws_calloc(1, sizeof(*c));

    c->kind = VWS_CLOCK_SIMULATED;
    c->now = start;
    return c;
}

vws_clock *
vws_clock_new_real(void)
{
    vws_clock *c = vws_calloc(1, sizeof(*c));

    c->kind = VWS_CLOCK_REAL;
    return c;
}

void
vws_clock_free(vws_clock *c)
{
    size_t i;

    if (!c)
        return;
    for (i = 0; i < c->n; i++)
        if (c->heap[i].owned)
            free(c->heap[i].arg);
    free(c->heap);
    free(c);
}

vws_clock_kind
vws_clock_get_kind(const vws_clock *c)
{
    return c->kind;
}

vws_time
vws_clock_now(const vws_clock *c)
{
    return c->kind == VWS_CLOCK_REAL ? real_now() : c->now;
}

static int
before(const struct event *a, const struct event *b)
{
    if (a->when != b->when)
        return a->when < b->when;
    return a->seq < b->seq;
}

static int
clock_at(vws_clock *c, vws_time when, vws_event_fn fn, void *arg,
         uint64_t tag, int owned)
{
    size_t i;

    if (!fn) {
        vws_report_error(VWS_ERR_INVALID_ARG, "event without a function");
        return -1;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->heap = vws_reallocarray(c->heap, c->cap, sizeof(*c->heap));
    }
    i = c->n++;
    c->heap[i] = (struct event){ when, c->seq++, fn, arg, tag, owned };
    while (i > 0) {
        size_t p = (i - 1) / 2;
        struct event tmp;

        if (!before(&c->heap[i], &c->heap[p]))
            break;
        tmp = c->heap[i];
        c->heap[i] = c->heap[p];
        c->heap[p] = tmp;
        i = p;
    }
    return 0;
}

int
vws_clock_at(vws_clock *c, vws_time when, vws_event_fn fn, void *arg,
             uint64_t tag)
{
    return clock_at(c, when, fn, arg, tag, 0);
}

int
vws_clock_at_owned(vws_clock *c, vws_time when, vws_event_fn fn, void *arg,
                   uint64_t tag)
{
    return clock_at(c, when, fn, arg, tag, 1);
}

static struct event
heap_pop(vws_clock *c)
{
    struct event top = c->heap[0];
    size_t i = 0;

    c->heap[0] = c->heap[--c->n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        struct event tmp;

        if (l < c->n && before(&c->heap[l], &c->heap[m]))
            m = l;
        if (r < c->n && before(&c->heap[r], &c->heap[m]))
            m = r;
        if (m == i)
            break;
        tmp = c->heap[i];
        c->heap[i] = c->heap[m];
        c->heap[m] = tmp;
        i = m;
    }
    return top;
}

vws_time
vws_clock_next(const vws_clock *c)
{
    return c->n ? c->heap[0].when : VWS_TIME_NEVER;
}

uint64_t
vws_clock_pending(const vws_clock *c)
{
    return c->n;
}

uint64_t
vws_clock_events_run(const vws_clock *c)
{
    return c->ran;
}

static void
sleep_until(vws_time when)
{
    struct timespec ts;

    ts.tv_sec = when / 1000;
    ts.tv_nsec = (long)(when % 1000) * 1000000L;
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

int
vws_clock_step(vws_clock *c)
{
    struct event ev;
    vws_time now;

    if (!c->n)
        return 0;
    if (c->kind == VWS_CLOCK_REAL) {
        if (c->heap[0].when > real_now())
            sleep_until(c->heap[0].when);
        ev = heap_pop(c);
        now = real_now();
    } else {
        ev = heap_pop(c);
        if (ev.when > c->now)
            c->now = ev.when;
        now = c->now;
    }
    c->ran++;
    ev.fn(ev.arg, ev.tag, now);
    return 1;
}

uint64_t
vws_clock_run(vws_clock *c, vws_time until)
{
    uint64_t n = 0;

    c->stop = 0;
    while (!c->stop && c->n && c->heap[0].when <= until) {
        vws_clock_step(c);
        n++;
    }
    return n;
}

void
vws_clock_stop(vws_clock *c)
{
    c->stop = 1;
}
